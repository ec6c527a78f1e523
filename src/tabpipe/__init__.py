"""tabpipe: a reference ML pipeline for tabular data (DVC + MLflow + scikit-learn)."""

__version__ = "0.1.0"
