"""Data preparation both engines share: normalising, validating and summarising frames."""
