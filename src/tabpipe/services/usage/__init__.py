"""Using a registered model: batch prediction, monitoring, champion-challenger, A/B tests."""
