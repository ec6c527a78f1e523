"""Model understanding: metrics, intervals, gates, thresholds, explanations, errors."""
