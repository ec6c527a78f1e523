"""The champion alias: its best score ever, re-scoring it now, moving it with a read-back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from tabpipe.records.evaluation import (
    GateResult,
    MetricsReport,
    PromotionMode,
)
from tabpipe.records.params import GREATER_IS_BETTER, Params
from tabpipe.repositories import mlflow_store as store
from tabpipe.services.analysis.gates import (
    ChampionScore,
    PromotedScore,
    champion_gates,
)

if TYPE_CHECKING:
    import pandas as pd

CHAMPION_SINCE_TAG = "tabpipe.champion_since"


TEST_SHA_TAG = "tabpipe.test_sha256"


TEST_METRIC_TAG = "tabpipe.test."


def best_promoted(
    versions: list[store.RegisteredVersion], test_sha256: str, metrics: list[str]
) -> dict[str, PromotedScore]:
    """Per metric, the best value among versions that ever held the champion alias.

    Only values measured on the same test split (its content digest) count.
    """
    best: dict[str, PromotedScore] = {}
    for version in versions:
        tags = version.tags
        if CHAMPION_SINCE_TAG not in tags or tags.get(TEST_SHA_TAG) != test_sha256:
            continue
        for metric in metrics:
            raw = tags.get(f"{TEST_METRIC_TAG}{metric}")
            if raw is None:
                continue
            value = float(raw)
            current = best.get(metric)
            better = GREATER_IS_BETTER[metric]
            if current is None or (value > current.value if better else value < current.value):
                best[metric] = PromotedScore(version=version.version, value=value)
    return best


def score_champion(
    champion: store.RegisteredVersion, test: pd.DataFrame, params: Params
) -> ChampionScore:
    """The champion's metrics on the candidate's test split (the same rows, scored now)."""
    # scikit-learn's metrics only when a champion is re-scored: not for an alias already set
    from tabpipe.services.analysis.metrics import compute_metrics, predict  # noqa: PLC0415

    name = params.mlflow.registered_model_name
    data = params.data
    try:
        model = store.load_version_model(name, champion.version)
        predictions = predict(
            model, test, data.target, task=data.task, positive_class=data.positive_class
        )
    except Exception as exc:  # noqa: BLE001 - any failure means "cannot be compared", said
        return ChampionScore(
            version=champion.version, test={}, error=f"{type(exc).__name__}: {exc}"
        )
    return ChampionScore(
        version=champion.version, test=compute_metrics(predictions, task=data.task)
    )


def now_text() -> str:
    """Now, in UTC, to the second (when a version became champion)."""
    return datetime.now(tz=UTC).isoformat(timespec="seconds")


def move_champion(
    params: Params, version: str, previous: str | None, tags: dict[str, str] | None = None
) -> store.RegisteredVersion | None:
    """Point the champion alias at ``version``, tag both versions, and read the alias back.

    The version gets when it became champion and which one it replaced (plus ``tags``),
    the replaced one by which it was replaced. Returns what the alias holds afterwards,
    so that a caller can tell a lost race (another writer) from its own promotion.
    """
    name, alias = params.mlflow.registered_model_name, params.mlflow.champion_alias
    store.set_alias(name, alias, version)
    store.set_version_tags(
        name,
        version,
        {CHAMPION_SINCE_TAG: now_text(), "replaced_version": previous or "none", **(tags or {})},
    )
    if previous is not None:
        store.set_version_tags(name, previous, {"replaced_by_version": version})
    return store.version_by_alias(name, alias)


def same_version(a: store.RegisteredVersion | None, b: store.RegisteredVersion | None) -> bool:
    """Whether two reads of an alias found the same version (or none both times)."""
    return (a is None and b is None) or (a is not None and b is not None and a.version == b.version)


def gates_against_champion(
    params: Params,
    metrics: MetricsReport,
    test: pd.DataFrame,
    champion: store.RegisteredVersion | None,
) -> tuple[GateResult, ...]:
    """The gates that compare the candidate with the champion of now and the best ever promoted."""
    rules = [rule for rule in params.gates.rules if rule.max_drop_vs_champion is not None]
    if not rules:
        return ()
    scored = None if champion is None else score_champion(champion, test, params)
    best = best_promoted(
        store.model_versions(params.mlflow.registered_model_name),
        metrics.test_sha256,
        [rule.metric for rule in rules],
    )
    return champion_gates(params.gates, metrics.test, scored, best)


@dataclass(frozen=True)
class ModeDecision:
    """Which alias a promotion may move (champion or challenger), and why."""

    mode: PromotionMode
    why: str


def promotion_mode(experiment: str | None, uncommitted: list[str] | None) -> ModeDecision:
    """champion only for a run of committed code and params outside `dvc exp run`."""
    if experiment:
        return ModeDecision("challenger", f"DVC experiment '{experiment}'")
    if uncommitted is None:
        return ModeDecision("challenger", "not a git repository: nothing is committed")
    if uncommitted:
        shown = ", ".join(uncommitted[:5]) + (" ..." if len(uncommitted) > 5 else "")  # noqa: PLR2004
        return ModeDecision("challenger", f"uncommitted changes: {shown}")
    return ModeDecision("champion", "clean commit")
