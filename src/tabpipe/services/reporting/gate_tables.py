"""The gates as Markdown: reports/gates.md and the model card's table (no MLflow needed)."""

from __future__ import annotations

from tabpipe.records.evaluation import GatesReport
from tabpipe.utils.text import fmt_number


def gates_markdown(report: GatesReport) -> str:
    """reports/gates.md: the verdict, then one row per gate."""
    verdict = (
        "PASSED" if report.passed else ("FAILED" if report.enforced else "FAILED (not enforced)")
    )
    lines = [
        f"# Quality gates: {verdict}",
        "",
        f"Model sha256 `{report.model_sha256[:16]}`. The comparison with the registry's "
        "champion (`max_drop_vs_champion`) is checked by the promote stage, at promotion time.",
        "",
        "The interval is the test split's bootstrap interval of the value. Policy: `point` "
        "judges the estimate; `pass_when_evidence` passes only when the whole interval is "
        "within the bound; `fail_when_evidence` fails only when the whole interval is "
        "beyond it (`gates.policy`).",
        "",
    ]
    return "\n".join(lines + gates_table(report)) + "\n"


def gates_table(report: GatesReport) -> list[str]:
    """One Markdown table row per gate (shared by gates.md and the model card)."""
    lines = [
        "| gate | value | interval | bound | policy | reference | result |",
        "|---|---|---|---|---|---|---|",
    ]
    for gate in report.gates:
        result = {True: "pass", False: "**FAIL**", None: "skipped"}[gate.passed]
        if gate.note:
            result += f" ({gate.note})"
        cells = (
            gate.name,
            fmt_number(gate.value),
            gate.interval_text or "-",
            fmt_number(gate.bound),
            gate.policy,
            fmt_number(gate.reference),
            result,
        )
        lines.append("| " + " | ".join(cells) + " |")
    return lines
