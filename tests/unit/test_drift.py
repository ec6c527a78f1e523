from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import LinearRegression

from tabpipe.records.params import DriftParams
from tabpipe.repositories.drift_report import headed_copy
from tabpipe.services.stages.drift import (
    Scorer,
    measure_drift,
    page_header,
    page_title,
    sample,
    write_drift_outputs,
)
from tabpipe.utils.numbers import stable


def _frame(n_rows: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "x": rng.normal(loc=shift, size=n_rows),
            "y": rng.normal(size=n_rows),
            "colour": pd.Categorical(rng.choice(["red", "blue"], size=n_rows)),
        }
    )


def test_a_shifted_column_is_named_and_others_are_not() -> None:
    result = measure_drift(
        _frame(3000, 0),
        _frame(2000, 1, shift=1.0),
        DriftParams(),
        reference_name="r",
        current_name="c",
    )
    report = result.report
    assert [column.column for column in report.drifted] == ["x"]
    assert report.n_columns == 3
    assert report.drifted_share == stable(1 / 3)  # at the stated precision
    assert not report.passed
    assert report.verdict().startswith("DRIFT: 1/3 columns drifted")


def test_the_same_population_is_not_flagged() -> None:
    report = measure_drift(
        _frame(3000, 0), _frame(2000, 1), DriftParams(), reference_name="r", current_name="c"
    ).report
    assert report.passed
    assert report.n_drifted == 0


def test_per_column_method_and_threshold_override_evidently_defaults() -> None:
    params = DriftParams(per_column_method={"y": "psi"}, per_column_threshold={"y": 0.5})
    report = measure_drift(
        _frame(3000, 0), _frame(2000, 1), params, reference_name="r", current_name="c"
    ).report
    y = next(column for column in report.columns if column.column == "y")
    assert (y.method, y.threshold) == ("psi", 0.5)


def test_large_sides_are_sampled_and_the_sample_size_recorded() -> None:
    params = DriftParams(max_rows=500)
    report = measure_drift(
        _frame(3000, 0), _frame(400, 1), params, reference_name="r", current_name="c"
    ).report
    assert report.sampled
    assert (report.reference_rows, report.current_rows) == (500, 400)
    assert len(sample(_frame(3000, 0), 500, seed=1)) == 500


@dataclass(frozen=True)
class CountingScorer(Scorer):
    """A real scorer that also records how many rows it was asked to score."""

    seen: list[int] = field(default_factory=list)

    def score(self, frame: pd.DataFrame) -> pd.DataFrame:
        self.seen.append(len(frame))
        return super().score(frame)


def test_predictions_are_added_after_sampling_and_compared_too() -> None:
    """A scorer sees only the sampled rows: a million-row side costs one sample's predictions."""
    reference, current = _frame(3000, 0), _frame(400, 1)
    model = LinearRegression().fit(reference[["x", "y"]], reference["x"] + reference["y"])
    scorer = CountingScorer(
        model=model, features=["x", "y"], task="regression", positive_class=None
    )
    report = measure_drift(
        reference, current, DriftParams(max_rows=500), reference_name="r", current_name="c",
        scorer=scorer,
    ).report  # fmt: skip
    assert scorer.seen == [500, 400]
    assert "prediction" in {column.column for column in report.columns}
    assert report.n_columns == 4


def test_the_page_names_what_it_compares_and_lists_every_column(tmp_path: Path) -> None:
    wide = pd.concat(
        [_frame(600, 0), pd.DataFrame({f"z{i}": np.arange(600) % (i + 2) for i in range(12)})],
        axis=1,
    )  # 15 columns: more than Evidently's 10 rows per page
    result = measure_drift(wide, wide, DriftParams(), reference_name="ref.csv", current_name="b")
    header = page_header(result.report, "toy") | {"Date": "2026-11-28 10:00:00 UTC"}
    html, _ = write_drift_outputs(
        result, tmp_path, title=page_title(result.report, "toy"), header=header
    )
    page = html.read_text()
    assert "<title>Drift of toy: b against ref.csv</title>" in page
    assert re.findall(r'"params": \{"rowsPerPage": (\d+)', page) == ["15"]
    assert "<td>2026-11-28 10:00:00 UTC</td>" in page
    assert "15, every one listed in the table below" in page
    assert '<body>\n<div class="tabpipe-header"' in page  # the page opens with it
    with headed_copy(html, "Another", {"MLflow run": "abc <1>"}) as copy:
        headed = copy.read_text()
    assert headed.count('class="tabpipe-header"') == 1  # replaced, not added
    assert "<td>abc &lt;1&gt;</td>" in headed
    assert "2026-11-28" not in headed
    assert headed.count("<title>") == page.count("<title>")
