"""Numbers at the precision tabpipe writes them: the same bytes on every machine.

Two CPUs can give a computed float different last bits (numpy picks SIMD kernels for
the CPU it finds, and their sums and logarithms round differently), so an output
written at full ``repr`` precision changes its bytes, and its hash in ``dvc.lock``,
from one machine to the next. Every float that tabpipe writes to an output DVC tracks,
and every float a gate compares, is first rounded to :data:`SIGNIFICANT_DIGITS`
significant digits: far more than any metric needs, and far fewer than a float holds,
so a difference of a few units in the last place almost never shows (only a value
within that difference of a rounding boundary, about one in 10^7 per number).

Records (``records.base.Measured``) round their floats when they are built, so a gate
decides on the very number the report shows; writers of other JSON round the payload.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

SIGNIFICANT_DIGITS = 8

# A float is first read as the nearest number of this many digits: a value a few ulps
# off a short decimal (1300.84375 computed as 1300.8437499999998) is that decimal, so
# a value that sits exactly on a rounding boundary rounds the same way on every CPU.
_SNAP_DIGITS = 12

# A decimal literal with a fraction or an exponent (integers are never rounded).
_DECIMAL = re.compile(r"(?<![\w.])-?(?:\d+\.\d+(?:[eE][-+]?\d+)?|\d+[eE][-+]?\d+)(?![\w.])")


def stable(value: float) -> float:
    """``value`` rounded to :data:`SIGNIFICANT_DIGITS` significant digits (nan, inf kept).

    The value is first snapped to 12 significant digits, so noise in its last bits
    never decides which way a halfway value (an exact binary fraction such as
    ``1300.84375``) rounds. ``-0.0`` becomes ``0.0``: a sign of zero is a rounding
    accident, not a measurement.
    """
    if not math.isfinite(value):
        return value
    snapped = float(f"{value:.{_SNAP_DIGITS}g}")
    return float(f"{snapped:.{SIGNIFICANT_DIGITS}g}") + 0.0


def floats_mapped(function: Callable[[float], float], value: Any) -> Any:
    """``value`` with ``function`` applied to every float inside (dicts, lists, tuples).

    Booleans and integers stay as they are; other objects are returned unchanged.
    """
    if isinstance(value, float):
        return function(value)
    if isinstance(value, dict):
        return {key: floats_mapped(function, item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(floats_mapped(function, item) for item in value)
    return value


def stable_tree(value: Any) -> Any:
    """``value`` with every float inside rounded by :func:`stable`."""
    return floats_mapped(stable, value)


def significant_digits(literal: str) -> int:
    """How many digits a decimal literal needs (``0.00120`` and ``1200.0`` need 2).

    Trailing zeros are not counted: a float's shortest ``repr`` writes none but ``.0``.
    """
    mantissa = re.split(r"[eE]", literal.lstrip("-"), maxsplit=1)[0]
    return len(mantissa.replace(".", "").strip("0"))


def stable_literals(text: str) -> str:
    """``text`` with every decimal literal longer than the stated precision rounded.

    For a page written by a library (Evidently's data), whose numbers tabpipe does not
    format: shorter literals are left exactly as they were written.
    """

    def rounded(match: re.Match[str]) -> str:
        literal = match.group(0)
        if significant_digits(literal) <= SIGNIFICANT_DIGITS:
            return literal
        return repr(stable(float(literal)))

    return _DECIMAL.sub(rounded, text)


def overprecise_literals(text: str) -> list[str]:
    """The decimal literals in ``text`` written beyond the stated precision."""
    return [
        match.group(0)
        for match in _DECIMAL.finditer(text)
        if significant_digits(match.group(0)) > SIGNIFICANT_DIGITS
    ]
