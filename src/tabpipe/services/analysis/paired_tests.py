"""Two models scored on the same rows: is the difference in a metric real?

- :func:`paired_bootstrap`: the same resampled rows score both models, so the interval
  of their difference keeps the pairing (two independent intervals would overlap far
  more than the difference varies). Any metric of :mod:`tabpipe.services.analysis.metrics`.
- :func:`delong_test`: DeLong, DeLong & Clarke-Pearson (1988), the standard test of two
  correlated ROC AUCs, in Sun & Xu's (2014) midrank form, O(n log n). Neither SciPy,
  scikit-learn nor statsmodels ships it; ``scipy.stats.rankdata`` gives the midranks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats

from tabpipe.records.params import GREATER_IS_BETTER, Task
from tabpipe.services.analysis.metrics import Predictions
from tabpipe.services.analysis.uncertainty import resampled_values

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class PairedBootstrap:
    """Resampled ``challenger - champion`` improvements (positive: the challenger is better)."""

    improvements: FloatArray

    def interval(self, confidence: float) -> tuple[float, float]:
        """Percentile interval of the improvement."""
        alpha = (1 - confidence) / 2
        low, high = np.quantile(self.improvements, [alpha, 1 - alpha])
        return float(low), float(high)

    @property
    def p_value(self) -> float:
        """Two-sided: twice the smaller share of resamples on either side of no difference.

        Never below ``1 / (resamples + 1)``: a finite bootstrap cannot show more.
        """
        n = len(self.improvements)
        below = float(np.mean(self.improvements <= 0))
        above = float(np.mean(self.improvements >= 0))
        return min(1.0, max(2 * min(below, above), 1 / (n + 1)))


@dataclass(frozen=True)
class DelongResult:
    """DeLong's test of two ROC AUCs on the same rows."""

    auc_champion: float
    auc_challenger: float
    standard_error: float
    z: float
    p_value: float


def improvement(metric: str, champion: float, challenger: float) -> float:
    """How much better the challenger is, in the metric's units, whichever way it improves."""
    difference = challenger - champion
    return difference if GREATER_IS_BETTER[metric] else -difference


def paired_bootstrap(
    champion: Predictions,
    challenger: Predictions,
    metric: str,
    *,
    task: Task,
    n_resamples: int,
    seed: int,
) -> PairedBootstrap:
    """The improvement of ``metric`` over ``n_resamples`` row resamples shared by both models.

    Resamples where the metric is undefined for either model (one class only) are
    skipped. The resampled metrics are the evaluate stage's (one ranking for ROC AUC,
    row counts for sums over rows).
    """
    n_rows = len(champion.y_true)
    if len(challenger.y_true) != n_rows:
        msg = "paired comparison needs both models' predictions on the same rows"
        raise ValueError(msg)
    # The same seed draws the same resamples for both models (services/analysis/uncertainty.py).
    before, after = (
        resampled_values(
            predictions, [metric], task=task, n_resamples=n_resamples, seed=seed,
            label=f"compare: {name}'s bootstrap",
        )[metric]
        for name, predictions in (("champion", champion), ("challenger", challenger))
    )  # fmt: skip
    keep = np.isfinite(before) & np.isfinite(after)
    difference = after[keep] - before[keep]
    return PairedBootstrap(improvements=difference if GREATER_IS_BETTER[metric] else -difference)


def delong_test(
    is_positive: npt.NDArray[np.bool_], champion: FloatArray, challenger: FloatArray
) -> DelongResult:
    """DeLong's two-sided test that two ROC AUCs on the same rows are equal.

    Raises ValueError when the rows hold one class only (no AUC exists).
    """
    positives, negatives = int(is_positive.sum()), int((~is_positive).sum())
    if positives == 0 or negatives == 0:
        msg = "DeLong's test needs both classes among the rows"
        raise ValueError(msg)
    aucs, v10, v01 = [], [], []
    for scores in (champion, challenger):
        pos, neg = scores[is_positive], scores[~is_positive]
        ranks_all = stats.rankdata(np.concatenate([pos, neg]))
        ranks_pos, ranks_neg = stats.rankdata(pos), stats.rankdata(neg)
        aucs.append(
            float(ranks_all[:positives].sum() / (positives * negatives))
            - (positives + 1) / (2 * negatives)
        )
        # Structural components: each positive's share of negatives it outranks, and
        # each negative's share of positives that outrank it (ties count one half).
        v10.append((ranks_all[:positives] - ranks_pos) / negatives)
        v01.append(1 - (ranks_all[positives:] - ranks_neg) / positives)
    s10 = np.cov(np.vstack(v10)) if positives > 1 else np.zeros((2, 2))
    s01 = np.cov(np.vstack(v01)) if negatives > 1 else np.zeros((2, 2))
    covariance = s10 / positives + s01 / negatives
    variance = float(covariance[0, 0] + covariance[1, 1] - 2 * covariance[0, 1])
    difference = aucs[1] - aucs[0]
    if variance <= 0:  # the same ranking twice: no difference to test
        return DelongResult(aucs[0], aucs[1], 0.0, 0.0, 1.0)
    error = variance**0.5
    z = difference / error
    return DelongResult(aucs[0], aucs[1], error, z, float(2 * stats.norm.sf(abs(z))))
