"""From the params to an unfitted scikit-learn pipeline: features, estimators, the search.

XGBoost's wrappers stay in ``services/boosting.py``: saved models name their classes by
that module path.
"""
