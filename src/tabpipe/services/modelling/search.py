"""The train stage's hyperparameter search (Optuna), scored on the validation split.

Each trial takes values for the searched hyperparameters from the sampler (``grid``:
Optuna's GridSampler over the listed values; ``tpe``; ``random``), fits the pipeline
exactly as the stage fits its model (:func:`fit_spec`, early stopping on the
validation split included) and scores it on the validation split with the primary
metric. With ``pruner: median``, a trial first fits on a seeded quarter of the training
rows and is stopped there when its score is below the median of earlier trials at that
step. The best trial's fitted pipeline is the stage's model: nothing is refitted.

The sampler is seeded with ``train.seed`` and trials run one at a time, so the same
params give the same trials, the same model and the same ``dvc.lock``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd
from loguru import logger
from pydantic import ValidationError

from tabpipe.errors import ParamsError
from tabpipe.records.evaluation import SearchSummary, SearchTrial
from tabpipe.records.params import GREATER_IS_BETTER, ModelSpec, Params, SearchParams
from tabpipe.services.analysis.metrics import oriented_scorer
from tabpipe.services.modelling.features import FeatureColumns
from tabpipe.services.modelling.fitting import FittedModel, fit_spec

if TYPE_CHECKING:
    import optuna

PRUNE_FRACTION = 0.25  # the first step of a trial under pruner: median, in training rows
TrialLogger = Callable[[SearchTrial], None]  # e.g. a child MLflow run per trial


@dataclass
class _Best:
    """The best trial so far and its fitted model (the only model kept)."""

    number: int = -1
    score: float = float("-inf")
    fitted: FittedModel | None = None


def with_overrides(spec: ModelSpec, overrides: dict[str, Any]) -> ModelSpec:
    """The model spec with one trial's values, validated like params.yaml."""
    try:
        return type(spec).model_validate({**spec.model_dump(), **overrides})
    except ValidationError as exc:
        msg = f"train.search.space: {exc.errors(include_url=False)[0]['msg']} ({overrides})"
        raise ParamsError(msg) from exc


def _suggest(trial: optuna.Trial, search: SearchParams) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, choice in search.space.items():
        if isinstance(choice, list):
            values[key] = trial.suggest_categorical(key, choice)
        elif isinstance(choice.low, int) and isinstance(choice.high, int):
            values[key] = trial.suggest_int(key, choice.low, choice.high, log=choice.log)
        else:
            values[key] = trial.suggest_float(
                key, float(choice.low), float(choice.high), log=choice.log
            )
    return values


def _study(search: SearchParams, seed: int) -> optuna.Study:
    import optuna  # noqa: PLC0415 - only a search pays for Optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # tabpipe logs each trial itself
    sampler: optuna.samplers.BaseSampler
    if search.sampler == "grid":
        grid = {key: list(values) for key, values in search.space.items()}
        sampler = optuna.samplers.GridSampler(grid, seed=seed)
    elif search.sampler == "tpe":
        sampler = optuna.samplers.TPESampler(seed=seed)
    else:
        sampler = optuna.samplers.RandomSampler(seed=seed)
    pruner: optuna.pruners.BasePruner = (
        optuna.pruners.MedianPruner(n_startup_trials=2)
        if search.pruner == "median"
        else optuna.pruners.NopPruner()
    )
    return optuna.create_study(direction="maximize", sampler=sampler, pruner=pruner)


def grid_size(search: SearchParams) -> int:
    """How many combinations the listed values make."""
    size = 1
    for values in search.space.values():
        size *= len(values) if isinstance(values, list) else 1
    return size


def search_hyperparameters(
    params: Params,
    columns: FeatureColumns,
    train: pd.DataFrame,
    val: pd.DataFrame,
    on_trial: TrialLogger | None = None,
) -> FittedModel:
    """Run the search; the best trial's fitted model, with the search's summary."""
    import optuna  # noqa: PLC0415

    search = params.train.search
    if search is None:
        msg = "train.search: nothing to search (set train.search.space)"
        raise ParamsError(msg)
    spec, seed = params.train.model, params.train.seed
    task, target, metric = params.data.task, params.data.target, params.primary_metric
    sign = 1.0 if GREATER_IS_BETTER[metric] else -1.0
    scorer = oriented_scorer(
        metric, task=task, target=target, positive_class=params.data.positive_class
    )
    first_step = train.sample(frac=PRUNE_FRACTION, random_state=seed)
    best = _Best()
    trials: list[SearchTrial] = []
    n_trials = search.n_trials
    if search.sampler == "grid":
        n_trials = min(n_trials or grid_size(search), grid_size(search))

    def objective(trial: optuna.Trial) -> float:
        values = _suggest(trial, search)
        trial_spec = with_overrides(spec, values)
        if search.pruner == "median":
            quick = fit_spec(trial_spec, params, columns, first_step, val)
            trial.report(float(scorer(quick.pipeline, val[columns.all], val[target])), step=0)
            if trial.should_prune():
                _record(trials, trial.number, "pruned", None, values, on_trial)
                raise optuna.TrialPruned
        fitted = fit_spec(trial_spec, params, columns, train, val, best_params=values)
        score = float(scorer(fitted.pipeline, val[columns.all], val[target]))
        _record(trials, trial.number, "complete", sign * score, values, on_trial)
        if score > best.score:
            best.number, best.score, best.fitted = trial.number, score, fitted
        return score

    study = _study(search, seed)
    logger.info(
        "train: searching {} with the {} sampler ({}), {} on the validation split",
        ", ".join(search.space),
        search.sampler,
        f"{n_trials} trials" if n_trials else f"for {search.timeout_s:g} s",
        metric,
    )
    study.optimize(objective, n_trials=n_trials, timeout=search.timeout_s)
    if best.fitted is None:
        msg = "train.search: no trial completed (every trial was pruned); use pruner: none"
        raise ParamsError(msg)
    summary = SearchSummary(
        sampler=search.sampler,
        pruner=search.pruner,
        metric=metric,
        best_trial=best.number,
        best_value=sign * best.score,
        trials=tuple(trials),
        importances=_importances(study, seed),
    )
    logger.info(
        "train: search picked trial {} ({} {:.4f} on val): {}",
        best.number,
        metric,
        sign * best.score,
        best.fitted.best_params,
    )
    return FittedModel(
        pipeline=best.fitted.pipeline,
        spec=best.fitted.spec,
        best_params=best.fitted.best_params,
        n_iter=best.fitted.n_iter,
        curves=best.fitted.curves,
        search=summary,
    )


def _record(
    trials: list[SearchTrial],
    number: int,
    state: str,
    value: float | None,
    values: dict[str, Any],
    on_trial: TrialLogger | None,
) -> None:
    trial = SearchTrial.model_validate(
        {"number": number, "state": state, "value": value, "params": values}
    )
    trials.append(trial)
    shown = "pruned after the first step" if value is None else f"{value:.4f}"
    logger.info("train: trial {}: {} ({})", number, shown, values)
    if on_trial is not None:
        on_trial(trial)


def _importances(study: optuna.Study, seed: int) -> dict[str, float]:
    """fANOVA importance of each searched hyperparameter, when Optuna can compute it."""
    import optuna  # noqa: PLC0415

    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if len(complete) < 2 or len({str(t.params) for t in complete}) < 2:  # noqa: PLR2004
        return {}
    evaluator = optuna.importance.FanovaImportanceEvaluator(seed=seed)
    found = optuna.importance.get_param_importances(study, evaluator=evaluator)
    return {name: round(float(value), 6) for name, value in found.items()}
