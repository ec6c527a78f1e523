"""Shared pydantic configuration: frozen, strict and closed to unknown keys."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Strict

# YAML has no path or tuple type: accept their plain forms while the rest stays strict.
PathField = Annotated[Path, Strict(False)]
StrTuple = Annotated[tuple[str, ...], Strict(False)]


class FrozenModel(BaseModel):
    """Base for every model: a typo or a wrong type fails at once, nothing mutates."""

    model_config = ConfigDict(frozen=True, strict=True, extra="forbid")
