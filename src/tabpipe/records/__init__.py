"""pydantic models: configuration and the business data that crosses module borders."""
