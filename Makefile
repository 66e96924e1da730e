# The whole set-up is two commands: `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
HOST ?= 127.0.0.1
PORT ?= 8888
# Test processes of make test (pytest-xdist); a module's tests share one, and its servers.
TEST_PROCESSES ?= 2
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check --quiet
# The tools that check deploy/ (kubectl's kustomize, schema checks, checkov), in a venv of
# their own: checkov pins dependencies that would fight the project's. --no-compile: most
# of checkov's tree (boto3's models) is never imported here, so compiling it is wasted.
TOOLS_VENV ?= .venv-tools

.PHONY: help install install-dev deploy-tools run test lint typecheck hadolint pytest docs latexpdf model requirements clean bench bench-peers screenshots

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "mlapi needs Python 3.11 or newer: set PYTHON=python3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)

# Runtime packages are installed at the versions pinned in requirements.txt.
$(VENV)/.installed: $(BIN)/python pyproject.toml requirements.txt
	$(PIP) install --upgrade pip
	$(PIP) install -c requirements.txt -e .
	@touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(PIP) install -c requirements.txt -e '.[dev]'
	@touch $@

$(VENV)/.installed-docs: $(VENV)/.installed
	$(PIP) install -c requirements.txt -e '.[docs]'
	@touch $@

$(TOOLS_VENV)/.installed: deploy/requirements-tools.txt deploy/requirements-tools-sdk.txt
	rm -rf $(TOOLS_VENV) && $(PYTHON) -m venv $(TOOLS_VENV)
	$(TOOLS_VENV)/bin/python -m pip --disable-pip-version-check --quiet install --no-compile -r deploy/requirements-tools.txt
	$(TOOLS_VENV)/bin/python -m pip --disable-pip-version-check --quiet install --no-deps -r deploy/requirements-tools-sdk.txt
	@touch $@

install: $(VENV)/.installed ## Create .venv and install mlapi

install-dev: $(VENV)/.installed-dev ## Install mlapi with the development tools

deploy-tools: $(TOOLS_VENV)/.installed ## Install the checkers of deploy/ into .venv-tools

run: install ## Serve the bundled model on $(HOST):$(PORT)
	$(BIN)/mlapi serve --dev --host $(HOST) --port $(PORT)

lint: install-dev ## ruff (lint and format check)
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts

typecheck: install-dev ## mypy on src/
	$(BIN)/mypy

hadolint: install-dev ## Lint the Dockerfile (hadolint from PyPI; no Docker needed)
	$(BIN)/hadolint --failure-threshold style Dockerfile

pytest: install-dev deploy-tools ## The test suite with coverage of src/, on SQLite and a throwaway PostgreSQL, with headless Chromium
	chromium=$$(scripts/ensure-chromium.sh) && \
	PYTEST_CHROMIUM=$$chromium PYTEST_REQUIRE_BROWSER=1 PYTEST_REQUIRE_POSTGRES=1 \
	PYTEST_DEPLOY_TOOLS=$(abspath $(TOOLS_VENV))/bin PYTEST_REQUIRE_DEPLOY_TOOLS=1 \
		scripts/with-postgres.sh $(BIN)/pytest --cov --cov-report=term --durations=20 \
		--numprocesses $(TEST_PROCESSES) --dist loadscope

docs: $(VENV)/.installed-docs ## Build the HTML docs into docs/_build/html (warnings are errors)
	$(BIN)/sphinx-build -W --keep-going -b html docs docs/_build/html

latexpdf: $(VENV)/.installed-docs ## Build the PDF docs into docs/_build/latex (needs LaTeX, latexmk)
	$(BIN)/sphinx-build -M latexpdf docs docs/_build -W --keep-going

test: lint typecheck hadolint pytest docs ## Everything CI checks

screenshots: install-dev ## Retake the dashboard screenshots in docs/images with the browser tests
	chromium=$$(scripts/ensure-chromium.sh) && \
	PYTEST_CHROMIUM=$$chromium PYTEST_REQUIRE_BROWSER=1 MLAPI_SCREENSHOTS=$(CURDIR)/docs/images \
		$(BIN)/pytest -q tests/e2e/test_dashboard.py

model: install ## Retrain the bundled model (decision tree, seed 0)
	$(BIN)/mlapi train --algorithm decision_tree --output src/mlapi/ml/model.skops

requirements: ## Re-pin requirements.txt (runtime + PostgreSQL driver + s3fs + Dask client, for the container) in a scratch venv
	rm -rf .req-venv && $(PYTHON) -m venv .req-venv
	.req-venv/bin/pip install --quiet '.[postgres,s3,dask]'
	echo '# Pinned runtime dependencies for the container and make run; regenerate with make requirements.' > requirements.txt
	.req-venv/bin/pip freeze --exclude mlapi --exclude pip --exclude setuptools >> requirements.txt
	rm -rf .req-venv

clean: ## Remove the virtual environment, caches and generated files
	rm -rf $(VENV) $(TOOLS_VENV) .pytest_cache .mypy_cache .ruff_cache .coverage htmlcov var build docs/_build

bench: install ## Load-test /predict against the article's app and FastAPI's ceiling (wrk)
	$(BIN)/python benchmarks/run.py
	$(BIN)/python -m benchmarks.predict_during_training
	$(BIN)/python -m benchmarks.memory

bench-peers: install ## The same against Seldon MLServer, BentoML and LitServe (own venvs)
	$(BIN)/python benchmarks/peers.py
