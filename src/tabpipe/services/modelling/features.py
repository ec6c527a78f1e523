"""Feature preprocessing chosen by column type, as the dataset schema declares it.

Categorical columns are ordinal-encoded for tree models (HistGradientBoosting then
treats them as native categories) and one-hot encoded for linear models, where
numbers are also imputed and scaled. Unknown categories at prediction time map to
"missing" (trees) or to no active column (one-hot), never to an error.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pandera.pandas as pa
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

_CATEGORICAL_DTYPES = ("category", "object", "str", "string", "bool", "boolean")


@dataclass(frozen=True)
class FeatureColumns:
    """The feature columns by kind, as the schema's dtypes declare them."""

    categorical: tuple[str, ...]
    numeric: tuple[str, ...]

    @property
    def all(self) -> list[str]:
        """Every feature column: categorical first, then numeric (the pipeline's input order)."""
        return [*self.categorical, *self.numeric]


def feature_columns(
    schema: pa.DataFrameSchema, *, target: str, exclude: tuple[str, ...] = ()
) -> FeatureColumns:
    """Split the schema's columns (minus target and exclusions) into categorical and numeric."""
    categorical: list[str] = []
    numeric: list[str] = []
    for name, column in schema.columns.items():
        if name == target or name in exclude:
            continue
        dtype = str(column.dtype).lower()
        (categorical if dtype.startswith(_CATEGORICAL_DTYPES) else numeric).append(str(name))
    return FeatureColumns(categorical=tuple(categorical), numeric=tuple(numeric))


# HistGradientBoosting takes at most this many categories per feature (its max_bins).
HGB_MAX_CATEGORIES = 255


def tree_preprocessor(
    columns: FeatureColumns, *, max_categories: int | None = None
) -> ColumnTransformer:
    """Categories as integer codes (missing/unknown -> NaN); numbers untouched.

    ``max_categories``: a column with more values keeps its most frequent ones and
    codes the rest as one infrequent category (scikit-learn's own grouping), as
    HistGradientBoosting needs (:data:`HGB_MAX_CATEGORIES`).
    """
    encoder = OrdinalEncoder(
        handle_unknown="use_encoded_value",
        unknown_value=np.nan,
        encoded_missing_value=np.nan,
        max_categories=max_categories,
        dtype=np.float64,
    )
    return ColumnTransformer(
        [
            ("categorical", encoder, list(columns.categorical)),
            ("numeric", "passthrough", list(columns.numeric)),
        ],
        verbose_feature_names_out=False,
    )


def linear_preprocessor(columns: FeatureColumns) -> ColumnTransformer:
    """One-hot categories (rare ones grouped, missing as its own), imputed and scaled numbers."""
    # Missing is a category of its own (one column), as OneHotEncoder treats NaN; an
    # imputer in front would need every column in one dtype, which text, category and
    # bool columns together are not.
    categorical = OneHotEncoder(
        handle_unknown="infrequent_if_exist", min_frequency=10, sparse_output=False
    )
    numeric = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
    return ColumnTransformer(
        [
            ("categorical", categorical, list(columns.categorical)),
            ("numeric", numeric, list(columns.numeric)),
        ],
        verbose_feature_names_out=False,
    )


def identifier_like(frame: pd.DataFrame, columns: FeatureColumns) -> list[str]:
    """Category features whose values hardly repeat (more distinct values than half the rows).

    An identifier as a feature teaches a model nothing that holds for new rows.
    """
    return [
        name
        for name in columns.categorical
        if len(frame) > 1 and frame[name].nunique(dropna=True) > 0.5 * len(frame)
    ]


def categorical_mask(columns: FeatureColumns) -> list[bool]:
    """Which outputs of :func:`tree_preprocessor` are categorical (it puts them first)."""
    return [True] * len(columns.categorical) + [False] * len(columns.numeric)
