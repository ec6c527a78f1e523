"""Ingest never crashes: any frame gives valid data or our DataValidationError."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from hypothesis import event, given
from hypothesis import strategies as st

from tabpipe.errors import DataValidationError
from tabpipe.records.params import Params
from tabpipe.services.data.preparation import ingest_frame

COLUMNS = (
    "age", "workclass", "education", "education-num", "marital-status", "occupation",
    "relationship", "race", "gender", "capital-gain", "capital-loss", "hours-per-week",
    "native-country", "income",
)  # fmt: skip

VALID: dict[str, list[object]] = {
    "age": [17, 39, 90],
    "workclass": [" Private", "State-gov", " ?"],
    "education": ["Bachelors", " HS-grad"],
    "education-num": [9, 13],
    "marital-status": ["Never-married", " Divorced"],
    "occupation": ["Sales", " ?", "Adm-clerical"],
    "relationship": ["Husband", "Wife"],
    "race": ["White", "Black"],
    "gender": ["Male", "Female"],
    "capital-gain": [0, 2174],
    "capital-loss": [0, 1902],
    "hours-per-week": [1, 40, 99],
    "native-country": ["United-States", " ?", "Cuba"],
    "income": [" <=50K", ">50K"],
}

ANY_VALUE = st.one_of(
    st.none(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.booleans(),
)


@st.composite
def raw_frames(draw: st.DrawFn) -> pd.DataFrame:
    """Frames that are mostly Adult-shaped, with arbitrary values, columns lost or added."""
    n_rows = draw(st.integers(min_value=1, max_value=12))
    columns = [name for name in COLUMNS if draw(st.integers(0, 19)) > 0]  # ~5% dropped
    data: dict[str, list[object]] = {}
    for name in columns:
        plausible = st.sampled_from(VALID[name])
        values = st.one_of(plausible, plausible, plausible, ANY_VALUE)
        data[name] = draw(st.lists(values, min_size=n_rows, max_size=n_rows))
    if draw(st.booleans()) and draw(st.booleans()):
        data[draw(st.text(min_size=1, max_size=8))] = [1] * n_rows
    return pd.DataFrame(data, dtype=object)


@given(raw=raw_frames())
def test_ingest_returns_valid_data_or_raises_validation_error(
    raw: pd.DataFrame, adult_params: Params, adult_schema: pa.DataFrameSchema
) -> None:
    try:
        frame, report = ingest_frame(
            raw,
            adult_schema,
            data=adult_params.data.model_copy(update={"drop_columns": ()}),
            ingest=adult_params.ingest,
        )
    except DataValidationError as exc:
        assert str(exc)
        event("rejected")
        return
    event("accepted")
    assert report.passed
    adult_schema.validate(frame)  # raises if ingest let anything invalid through
    assert list(frame.columns) == list(COLUMNS)
    assert frame["income"].notna().all()
