"""The ``drift`` and ``compare`` sections: drift gates, and champion against challenger."""

from __future__ import annotations

from pydantic import Field

from tabpipe.records.base import FrozenModel, PathField


class DriftParams(FrozenModel):
    """Evidently's data drift preset; its per-type defaults apply unless overridden per column."""

    current_path: PathField | None = Field(
        None,
        description="A batch file to compare with the training split instead of the test "
        "split (same formats as ingest; not a DVC dependency: rerun with `dvc repro -f drift`).",
    )
    max_rows: int = Field(
        100_000, ge=100, description="Above this many rows a side is sampled (seeded)."
    )
    seed: int = Field(42, ge=0)
    min_rows: int = Field(
        100,
        ge=1,
        description="Fewest rows on each side to judge drift. Below it the report is "
        "written but not gated: with a handful of rows every test alarms on noise. 100 "
        "keeps a chi-square test's expected count at 5 or more for up to 20 categories.",
    )
    max_drifted_share: float = Field(
        0.2, gt=0, le=1, description="Gate: drift when at least this share of columns drifted."
    )
    enforce: bool = Field(True, description="false: drift warns instead of exiting 5.")
    per_column_method: dict[str, str] = Field(
        default_factory=dict, description="Column -> Evidently method, e.g. {age: psi}."
    )
    per_column_threshold: dict[str, float] = Field(
        default_factory=dict, description="Column -> threshold for its method."
    )


class CompareParams(FrozenModel):
    """`tabpipe compare`: when a challenger counts as better than the champion on a batch."""

    alpha: float = Field(
        0.05, gt=0, lt=0.5, description="Significance level of the test (two-sided)."
    )
    min_effect: float = Field(
        0.0,
        ge=0,
        description="Smallest improvement of the primary metric worth a promotion, in the "
        "metric's units; a significant smaller one is 'no evidence'.",
    )
    bootstrap_samples: int = Field(
        1000, ge=100, le=100_000, description="Paired bootstrap resamples of the interval."
    )
    seed: int = Field(42, ge=0)
