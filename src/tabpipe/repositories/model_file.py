"""The fitted pipeline as a DVC output, in skops format with an explicit list of trusted types.

skops refuses to load any type it was not told to trust, so a tampered model file
fails loudly instead of running code, which a pickle would not.

The file is byte-reproducible: the same fitted model gives the same bytes, so the
model's hash in ``dvc.lock`` depends on data, params and code only. skops names
its array members after ``id()`` of the objects and random UUIDs, and stamps each
zip member with the current time; :func:`canonical_skops` renames the members in
order of first appearance and fixes the timestamps. The content is unchanged:
skops only uses the names to find each member and to tell shared objects apart.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loguru import logger

from tabpipe.errors import DataReadError, ModelFileError
from tabpipe.repositories.trusted_types import SKOPS_TRUSTED_TYPES
from tabpipe.utils.atomic import atomic_path

if TYPE_CHECKING:
    from types import ModuleType


def _skops_io() -> ModuleType:
    """skops.io, imported on first use.

    It builds a table of every scikit-learn estimator when imported (1.6 s here), which
    a stage that only reads a model's digest should not pay.
    """
    import skops.io as sio  # noqa: PLC0415

    module: ModuleType = sio
    return module


SCHEMA_MEMBER = "schema.json"
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip member can carry
_MEMBER_NAME = re.compile(r"^(?P<stem>[^/]+)\.(?P<suffix>npy|bin)$")


def save_model(model: Any, destination: Path) -> None:
    """Write the fitted pipeline with skops, byte-reproducibly, replacing ``destination`` whole."""
    payload = canonical_skops(_skops_io().dumps(model))
    with atomic_path(destination) as tmp:
        tmp.write_bytes(payload)


def model_digest(path: Path) -> str:
    """sha256 of the model file: the key that links it to its MLflow run and registry version."""
    if not path.is_file():
        msg = f"{path}: no trained model. Run the train stage first (`dvc repro train`)."
        raise DataReadError(msg)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def canonical_skops(payload: bytes) -> bytes:
    """The same skops archive with deterministic member names, order and timestamps."""
    with zipfile.ZipFile(io.BytesIO(payload)) as source:
        schema = json.loads(source.read(SCHEMA_MEMBER))
        ids: dict[int, int] = {}
        names: dict[str, str] = {}
        renamed = _rename(schema, ids, names)
        members = {names.get(info.filename, info.filename): info for info in source.infolist()}
        unknown = set(members) - set(names.values()) - {SCHEMA_MEMBER}
        if unknown:  # a member the schema does not name: leave the archive as skops wrote it
            logger.warning(
                "skops wrote members its schema does not name ({}): the model file is saved "
                "as skops wrote it and will not be byte-reproducible",
                ", ".join(sorted(unknown)),
            )
            return payload
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as target:
            for name in [*sorted(set(names.values())), SCHEMA_MEMBER]:
                info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
                info.external_attr = 0o644 << 16
                data = (
                    json.dumps(renamed, indent=2).encode()
                    if name == SCHEMA_MEMBER
                    else source.read(members[name])
                )
                target.writestr(info, data)
    return buffer.getvalue()


def _rename(node: Any, ids: dict[int, int], names: dict[str, str]) -> Any:
    """Map every object id and member name to its order of first appearance."""
    if isinstance(node, list):
        return [_rename(item, ids, names) for item in node]
    if not isinstance(node, dict):
        return node
    renamed: dict[str, Any] = {}
    for key, value in node.items():
        if key == "__id__" and isinstance(value, int):
            renamed[key] = ids.setdefault(value, len(ids) + 1)
        elif key == "file" and isinstance(value, str) and (match := _MEMBER_NAME.match(value)):
            if value not in names:
                names[value] = f"{len(names) + 1:06d}.{match['suffix']}"
            renamed[key] = names[value]
        else:
            renamed[key] = _rename(value, ids, names)
    return renamed


def load_model(path: Path, *, name: str | None = None, remedy: str | None = None) -> Any:
    """Load a skops model file, refusing any type that is not on tabpipe's trusted list.

    A file that is not a whole skops archive (truncated by a partial copy or a disk that
    filled while it was written, or edited) raises :class:`ModelFileError` naming it as
    ``name`` (default: the path) with ``remedy`` (default: retrain), never skops' own error.
    """
    shown = name or str(path)
    remedy = remedy or "Retrain it: `dvc repro train` (or `dvc checkout models/` to restore it)."
    if not path.is_file():
        msg = f"{path}: no trained model. Run the train stage first (`dvc repro train`)."
        raise ModelFileError(msg)
    sio = _skops_io()
    try:
        untrusted = set(sio.get_untrusted_types(file=path)) - set(SKOPS_TRUSTED_TYPES)
    except _DAMAGED as exc:
        raise _damaged(shown, exc, remedy) from exc
    if untrusted:
        msg = (
            f"{shown}: holds types that are not on the trusted list: "
            f"{', '.join(sorted(untrusted))}. "
            "Refusing to load it."
        )
        raise ModelFileError(msg)
    try:
        return sio.load(path, trusted=SKOPS_TRUSTED_TYPES)
    except _DAMAGED as exc:
        raise _damaged(shown, exc, remedy) from exc


# What skops and zipfile raise on an archive that is cut short, has a bad member or a
# schema that is not its own (zipfile.BadZipFile covers a bad CRC and a missing end).
_DAMAGED = (zipfile.BadZipFile, EOFError, KeyError, ValueError, TypeError, zlib.error)


def _damaged(shown: str, exc: Exception, remedy: str) -> ModelFileError:
    cause = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return ModelFileError(
        f"{shown}: not a complete skops model file ({cause}); it was cut short or damaged "
        f"(a partial copy, a disk that filled while it was written). {remedy}"
    )
