"""Configuration files a team edits or deploys: documented, free of secrets, safe by default."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib

import yaml

from tests.helpers import REPO_ROOT

ENV_EXAMPLE = (REPO_ROOT / ".env.example").read_text()


def test_every_environment_variable_the_package_reads_is_in_env_example() -> None:
    read = set()
    for source in (REPO_ROOT / "src").rglob("*.py"):
        text = source.read_text()
        read |= set(
            re.findall(r"environ(?:\.get|\.setdefault)?[(\[]\s*\"([A-Z][A-Z0-9_]+)\"", text)
        )
        read |= set(re.findall(r"envvar=\"([A-Z][A-Z0-9_]+)\"", text))
        read |= set(re.findall(r"^\s+\"(MLFLOW_[A-Z_]+)\": ", text, flags=re.MULTILINE))
    assert {"MLFLOW_TRACKING_URI", "TABPIPE_LOG_DIR", "DVC_ROOT"} <= read
    assert sorted(name for name in read if name not in ENV_EXAMPLE) == []


def test_compose_takes_every_credential_from_env_and_publishes_on_loopback_only() -> None:
    text = (REPO_ROOT / "docker-compose.yml").read_text()
    compose = yaml.safe_load(text)
    services = compose["services"]
    assert {"postgres", "mlflow", "pipeline"} <= set(services)
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"].startswith(
        "${POSTGRES_PASSWORD:?"
    )
    assert "${POSTGRES_PASSWORD}" in services["mlflow"]["environment"]["MLFLOW_BACKEND_STORE_URI"]
    assert services["pipeline"]["environment"]["MLFLOW_TRACKING_URI"] == "http://mlflow:5000"
    for service in services.values():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), port
    for name in set(re.findall(r"\$\{([A-Z_]+)", text)):
        assert f"{name}=" in ENV_EXAMPLE, name
    assert "POSTGRES_PASSWORD=\n" in ENV_EXAMPLE  # the example holds no password
    assert not re.search(r"(?im)^\s*\w*password\w*\s*:\s*(?!\$\{)\S", text)


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_library_the_package_imports_is_a_declared_dependency() -> None:
    """A library that arrives only through another one's requirements can vanish with it."""
    declared = {
        _canonical(re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0])
        for requirement in tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"][
            "dependencies"
        ]
    }
    distributions = importlib.metadata.packages_distributions()
    imported: set[str] = set()
    for path in (REPO_ROOT / "src").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                imported.add(node.module.split(".")[0])
    third_party = imported - set(sys.stdlib_module_names) - {"tabpipe", "__future__"}
    undeclared = {
        module: distributions.get(module, [module])
        for module in third_party
        if not {_canonical(d) for d in distributions.get(module, [module])} & declared
    }
    assert undeclared == {}, "declare them in pyproject.toml [project] dependencies"


def test_every_runbook_section_a_message_names_exists() -> None:
    headings = {
        line.removeprefix("## ").strip()
        for line in (REPO_ROOT / "docs/runbook.md").read_text().splitlines()
        if line.startswith("## ")
    }
    named = {
        match
        for path in (REPO_ROOT / "src").rglob("*.py")
        for match in re.findall(r"runbook\.md, '([^']+)'", path.read_text(encoding="utf-8"))
    }
    assert named, "no message names a runbook section: the check would prove nothing"
    assert named <= headings, f"sections named in messages but absent: {named - headings}"


def test_every_phony_make_target_has_a_rule() -> None:
    """A .PHONY name without a rule "succeeds" doing nothing: `make test` would skip a check."""
    makefile = (REPO_ROOT / "Makefile").read_text()
    phony = re.search(r"^\.PHONY:(.*)$", makefile, flags=re.MULTILINE)
    assert phony is not None
    rules = set(re.findall(r"^([a-z][a-z-]*):", makefile, flags=re.MULTILINE))
    assert set(phony.group(1).split()) - rules == set()
    test_rule = re.search(r"^test:([^#\n]*)", makefile, flags=re.MULTILINE)
    assert test_rule is not None
    assert set(test_rule.group(1).split()) <= rules
