"""`make audit-dependencies`' reading of pip-audit's JSON: audited, vulnerable, or undecided."""

from __future__ import annotations

from typing import Any

import pytest
from scripts.audit_dependencies import UNREACHABLE, verdict

CLEAN = {"name": "six", "version": "1.17.0", "vulns": []}
VULNERABLE = {
    "name": "requests",
    "version": "2.0.0",
    "vulns": [{"id": "PYSEC-2014-13", "fix_versions": ["2.3.0"], "aliases": []}],
}


def _skipped(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "skip_reason": f"Dependency not found on PyPI and could not be audited: {name} (1.0)",
    }


def test_every_dependency_audited_and_clean_exits_0() -> None:
    code, out, err = verdict({"dependencies": [CLEAN, CLEAN], "fixes": []})
    assert (code, err) == (0, "")
    assert "2 locked dependencies, no known vulnerability" in out


def test_a_vulnerability_exits_1_with_its_id_and_fix_even_beside_skipped_ones() -> None:
    code, out, err = verdict({"dependencies": [CLEAN, VULNERABLE, _skipped("x")], "fixes": []})
    assert code == 1
    assert "requests 2.0.0: PYSEC-2014-13 (fixed in: 2.3.0)" in out
    assert "1 more could not be audited" in err


@pytest.mark.parametrize(
    ("dependencies", "message"),
    [
        ([_skipped("a"), _skipped("b")], "none of the 2 locked dependencies could be audited"),
        ([CLEAN, _skipped("b")], "1 of 2 locked dependencies could not be audited"),
    ],
)
def test_skipped_dependencies_decide_nothing_and_exit_75(
    dependencies: list[dict[str, Any]], message: str
) -> None:
    # Offline, pip-audit itself says "No known vulnerabilities found" and exits 0.
    code, out, err = verdict({"dependencies": dependencies, "fixes": []})
    assert code == UNREACHABLE == 75
    assert message in err
    assert "no known vulnerability" not in out
