# tabpipe tasks. `make help` lists them. The README, CI and pre-commit call these targets.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

export DVC_NO_ANALYTICS := 1
# Settings from .env (see .env.example), when present, for every task.
ifneq (,$(wildcard .env))
include .env
export $(shell sed -n 's/^\([A-Za-z_][A-Za-z0-9_]*\)=.*/\1/p' .env)
endif
# The locked environment's tools (tabpipe, dvc, pytest, ...) come first, also for dvc's stage commands.
export PATH := $(CURDIR)/.venv/bin:$(PATH)

# uv from PATH, else the copy that `python3 -m pip install uv` puts beside python3.
UV = $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
VENV_STAMP := .venv/.installed

.PHONY: help install train exps reproduce test unit integration lint security audit-dependencies pr-report format format-check typecheck pytest notebooks docs bench bench-scale ui serve loadtest clean

help: ## Show this list of tasks
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-20s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(VENV_STAMP): pyproject.toml uv.lock
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 \
		|| { echo "installing uv with pip"; python3 -m pip install --quiet uv; }
	@echo "install: syncing .venv with uv.lock ($$(grep -c '^\[\[package\]\]' uv.lock) locked packages; a first install downloads them, a few minutes)"
	$(UV) sync --frozen --compile-bytecode
	@touch $@
	@echo "install: done; .venv/bin holds tabpipe, dvc, mlflow, pytest (tabpipe --version: $$(.venv/bin/tabpipe --version))"

install: $(VENV_STAMP) ## Install the locked environment into .venv (bootstraps uv if missing)

train: $(VENV_STAMP) ## Check params against the schema, run the pipeline (dvc repro), show status
	tabpipe params --check
	dvc repro
	@tabpipe status

# DVC makes a column of every key in params.yaml and of every dependency, so plain
# `dvc exp show` is a row of ellipses at 80-220 columns; this keeps what a person compares.
exps: $(VENV_STAMP) ## Experiments side by side: name, primary metric, its interval, gate verdict, the params that differ
	@primary="$$(python -c 'from pathlib import Path; from tabpipe.repositories.params_file import load_params; print(load_params(Path("params.yaml")).primary_metric)')" \
		&& dvc exp show --no-pager --only-changed --drop '.*/.*|uv\.lock|Created' \
			--keep "^($$primary|$${primary}_low|$${primary}_high|gates_passed)$$"

reproduce: ## Clone HEAD afresh, make train there, and fail unless git status is clean
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && git clone -q . "$$tmp/clone" \
		&& $(MAKE) -C "$$tmp/clone" train \
		&& changed=$$(git -C "$$tmp/clone" status --porcelain) \
		&& if [ -n "$$changed" ]; then echo "not reproduced: a fresh clone changed:"; \
			echo "$$changed"; git -C "$$tmp/clone" diff --stat; exit 1; fi \
		&& echo "reproduced: a fresh clone + make train left git status clean"

test: lint format-check typecheck security pytest ## Everything CI checks: lint, format, types, secrets, tests (the pipeline and notebooks run in them)

lint: $(VENV_STAMP) ## ruff, notebook rules, hadolint on the Dockerfiles, zizmor and the schema on the CI workflow
	ruff check .
	tabpipe notebooks lint
	hadolint Dockerfile docker/mlflow-server.Dockerfile docker/serve.Dockerfile
	zizmor --offline --quiet .github/workflows
	check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml

security: $(VENV_STAMP) ## bandit on the package; detect-secrets on the tree and the whole git history
	bandit -r src -q
	python scripts/secrets_scan.py

# Not in `make test`: it needs PyPI's vulnerability data, which this project's own machines
# cannot reach (then it says so and exits 75); the CI workflow's audit job runs it.
audit-dependencies: $(VENV_STAMP) ## pip-audit of uv.lock's pinned dependencies (exit 75: data unreachable)
	python scripts/audit_dependencies.py

pr-report: $(VENV_STAMP) ## Markdown of what a change did to the model: make pr-report BASE=<git revision>
	@test -n "$(BASE)" || { echo "usage: make pr-report BASE=<git revision, e.g. origin/main>" >&2; exit 2; }
	@for kind in metrics params; do \
		echo "## $$kind: this change against \`$(BASE)\`"; echo; \
		table="$$(dvc $$kind diff --md "$(BASE)")"; \
		if [ "$$(printf '%s\n' "$$table" | grep -c '^| ')" -le 1 ]; then echo "No $$kind changed."; \
		else printf '%s\n' "$$table"; fi; echo; \
	done
	@echo "## Gates of this change"; echo; \
		if [ -f reports/gates.md ]; then cat reports/gates.md; \
		else echo "No gate table: reports/gates.md is written by \`make train\`."; fi; echo
	@echo "Plots, notebooks, the model card and the drift report: the \`reports\` artifact of this run."

format: $(VENV_STAMP) ## Format the code (ruff format, ruff --fix)
	ruff format .
	ruff check --fix .

format-check: $(VENV_STAMP) ## Fail if any file is not formatted
	ruff format --check .

typecheck: $(VENV_STAMP) ## mypy --strict on the package and the tests
	mypy src tests scripts

# One BLAS/OpenMP thread per pytest worker (and per pipeline a test runs): two workers on
# two cores, not two workers times every core's threads fighting over them.
TEST_THREADS := OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1

unit: $(VENV_STAMP) ## The fast loop before a commit: unit and property tests, no pipeline runs
	$(TEST_THREADS) pytest -n 2 -q tests/unit

integration: $(VENV_STAMP) ## Integration tests only: real pipelines, MLflow, DVC, notebooks, documented commands
	$(TEST_THREADS) pytest -n 2 --dist worksteal -rs --durations=12 tests/integration

pytest: $(VENV_STAMP) ## Unit, property and integration tests with coverage >= 80%
	$(TEST_THREADS) pytest -n 2 --dist worksteal -rs --durations=12 --cov --cov-report=term --cov-fail-under=80

notebooks: $(VENV_STAMP) ## Check the notebook rules, then run the notebooks on the pipeline's outputs
	tabpipe notebooks lint
	dvc repro report
	@ls reports/notebooks/*.html

bench: $(VENV_STAMP) ## Benchmarks: the pipeline against a bare scikit-learn script (docs/performance.md)
	python scripts/benchmark.py

bench-scale: $(VENV_STAMP) ## The Dask engine at 2M, 10M, 20M rows next to pandas (docs/performance.md; an hour or more)
	python scripts/bench_scale.py

docs: $(VENV_STAMP) ## Regenerate docs/configuration.md from the pydantic models of params.yaml
	tabpipe params --reference > docs/configuration.md

ui: $(VENV_STAMP) ## MLflow UI on http://127.0.0.1:5000 over the pipeline's tracking store
	@echo "open http://127.0.0.1:$${MLFLOW_UI_PORT:-5000}/#/experiments?workflowType=machine_learning (the Model training view)"
	mlflow ui --backend-store-uri "$${MLFLOW_TRACKING_URI:-sqlite:///$(CURDIR)/mlflow.db}" \
		--host 127.0.0.1 --port $${MLFLOW_UI_PORT:-5000}

serve: $(VENV_STAMP) ## MLflow's scoring server for the champion (or $$TABPIPE_SERVE_ALIAS) on 127.0.0.1:$$TABPIPE_SERVE_PORT (5001)
	@uri="$$(tabpipe model-uri $${TABPIPE_SERVE_ALIAS:+--alias "$$TABPIPE_SERVE_ALIAS"})" \
		&& echo "serving $$uri on http://127.0.0.1:$${TABPIPE_SERVE_PORT:-5001}" \
		&& MLFLOW_TRACKING_URI="$${MLFLOW_TRACKING_URI:-sqlite:///$(CURDIR)/mlflow.db}" \
		exec mlflow models serve --model-uri "$$uri" --env-manager local \
		--host 127.0.0.1 --port "$${TABPIPE_SERVE_PORT:-5001}" --workers "$${TABPIPE_SERVE_WORKERS:-2}"

loadtest: $(VENV_STAMP) ## Bounded load test of make serve: 8 clients, 1 and 1,000 rows (not in make test)
	python scripts/loadtest.py

clean: ## Remove caches and generated outputs (not the DVC cache or the MLflow store)
	rm -rf .pytest_cache .mypy_cache .ruff_cache .hypothesis .coverage htmlcov logs
	rm -rf data/interim data/processed data/generated
	find . -name __pycache__ -type d -prune -not -path './.venv/*' -exec rm -rf {} +
