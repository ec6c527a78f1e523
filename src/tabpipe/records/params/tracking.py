"""The ``mlflow`` section: where runs and the registry live, and the aliases."""

from __future__ import annotations

from pydantic import Field, model_validator

from tabpipe.records.base import FrozenModel


class MlflowParams(FrozenModel):
    """Where runs are tracked and under which name and aliases the model is registered."""

    experiment_name: str = Field("tabpipe", min_length=1)
    registered_model_name: str = Field("tabpipe-model", min_length=1)
    champion_alias: str = Field(
        "champion",
        pattern=r"^[A-Za-z][A-Za-z0-9_-]*$",
        description="Production alias: moved only by a run on a clean commit or by "
        "`tabpipe promote --version N`.",
    )
    challenger_alias: str = Field(
        "challenger",
        pattern=r"^[A-Za-z][A-Za-z0-9_-]*$",
        description="Alias given to models from `dvc exp run` or an uncommitted work tree.",
    )

    @model_validator(mode="after")
    def _aliases_differ(self) -> MlflowParams:
        if self.champion_alias == self.challenger_alias:
            msg = "champion_alias and challenger_alias must differ"
            raise ValueError(msg)
        return self
