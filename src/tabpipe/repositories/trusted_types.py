"""The types skops may load from a tabpipe model beyond its own safe defaults.

Declared here, never inferred from the file, so a model that holds anything else
is refused. Its own module so that stages which only need the list (promote)
do not pay for importing skops and scikit-learn.
"""

SKOPS_TRUSTED_TYPES = [
    # HistGradientBoosting: its trees and its internal input check.
    "functools.partial",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.utils.validation.check_array",
    # Random forests.
    "sklearn.tree._tree.Tree",
    # The one-hot encoder's output dtype (linear models).
    "numpy.dtype",
    # XGBoost (train.model.kind: xgboost): its scikit-learn estimators, their booster
    # (a serialised model, not code), and tabpipe's label and validation wrappers.
    "xgboost.sklearn.XGBClassifier",
    "xgboost.sklearn.XGBRegressor",
    "xgboost.core.Booster",
    "tabpipe.services.boosting.EncodedLabelClassifier",
    "tabpipe.services.boosting.ValidatedRegressor",
]
