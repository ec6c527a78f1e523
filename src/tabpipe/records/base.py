"""Shared pydantic configuration: frozen, strict and closed to unknown keys."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Strict, ValidationInfo, field_validator

from tabpipe.utils.numbers import stable_tree

# YAML has no path or tuple type: accept their plain forms while the rest stays strict.
PathField = Annotated[Path, Strict(False)]
StrTuple = Annotated[tuple[str, ...], Strict(False)]


class FrozenModel(BaseModel):
    """Base for every model: a typo or a wrong type fails at once, nothing mutates."""

    model_config = ConfigDict(frozen=True, strict=True, extra="forbid")


class _Verbatim:
    """Marks a field that holds values of the data as they were read (never rounded)."""

    def __repr__(self) -> str:
        return "VERBATIM"


VERBATIM = _Verbatim()


class Measured(FrozenModel):
    """Base for records of what was measured: every float held at the stated precision.

    Each float field (and each float in a dict, list or tuple field) is rounded to
    ``utils.numbers.SIGNIFICANT_DIGITS`` significant digits when the record is built, so
    what a gate compares, what a report shows and what a file holds is one number, the
    same on every machine. Parameters (``records.params``) are the user's and never rounded,
    nor is a field annotated with :data:`VERBATIM` (a value of the data, e.g. a row's target).
    """

    @field_validator("*", mode="after")
    @classmethod
    def _at_stated_precision(cls, value: Any, info: ValidationInfo) -> Any:
        field = cls.model_fields.get(info.field_name or "")
        if field is not None and VERBATIM in field.metadata:
            return value
        return stable_tree(value)
