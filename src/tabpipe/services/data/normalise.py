"""Turning a raw table into the shape its schema describes, before any check runs.

Raw exports differ in cosmetics that are not data errors: padding around values
and names, and dataset-specific markers for "missing" (Adult uses ``?``).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
from pandas.api.types import is_object_dtype, is_string_dtype


def normalise_frame(
    frame: pd.DataFrame,
    *,
    missing_values: Iterable[str],
    drop_columns: Iterable[str] = (),
) -> pd.DataFrame:
    """Strip whitespace from names and text values, map missing markers to NA, drop columns.

    Only ``str`` values are touched, so numbers stored in a mixed object column
    survive for the schema to coerce or reject.
    """
    frame = frame.rename(columns=lambda name: str(name).strip())
    to_drop = [name for name in drop_columns if name in frame.columns]
    frame = frame.drop(columns=to_drop)
    markers = set(missing_values)
    result = {}
    for name in frame.columns:
        series = frame[name]
        if isinstance(series.dtype, pd.CategoricalDtype):
            series = series.astype(object)  # a raw Parquet file may store text as categories
        if is_object_dtype(series.dtype) or is_string_dtype(series.dtype):
            series = _cleaned(series, markers)
        result[name] = series
    return pd.DataFrame(result, index=frame.index)


def _cleaned(series: pd.Series, markers: set[str]) -> pd.Series:
    """:func:`_clean` on every value, computed once per distinct value when all are text.

    ``pandas.factorize`` finds the distinct values in C; a column of repeated labels
    then costs a handful of Python calls instead of one per row. Mixed columns (numbers
    among text) go value by value: factorize would merge 1, 1.0 and True.
    """
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    if not all(isinstance(value, str) for value in uniques):
        return series.map(lambda value: _clean(value, markers), na_action="ignore")
    cleaned = np.array([_clean(value, markers) for value in uniques] + [None], dtype=object)
    values = series.to_numpy(dtype=object, copy=True)
    present = codes >= 0
    values[present] = cleaned[codes[present]]
    return pd.Series(values, index=series.index, name=series.name, dtype=object)


def _clean(value: object, markers: set[str]) -> object:
    if isinstance(value, str):
        stripped = value.strip()
        return pd.NA if stripped in markers or stripped == "" else stripped
    return value
