"""From the params to an unfitted scikit-learn pipeline: features and estimators."""
