# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
export MLFLOW_DISABLE_TELEMETRY := true
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: install demo test test-fast lint format install-test-tools

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q -e ".[dev]"
	touch $@

# Test-only tools that are not Python packages (Azurite, Chromium): each helper script is idempotent.
install-test-tools: install
	bash scripts/install-test-tools.sh

demo: install
	$(PY) examples/demo.py

lint: install
	$(VENV)/bin/ruff check jupyter_amlrun tests benchmarks examples
	$(VENV)/bin/ruff format --check jupyter_amlrun tests benchmarks examples
	$(VENV)/bin/mypy
	$(PY) scripts/check_layers.py

format: install
	$(VENV)/bin/ruff format jupyter_amlrun tests benchmarks examples
	$(VENV)/bin/ruff check --fix jupyter_amlrun tests benchmarks examples

test-fast: install
	$(PY) -m pytest -q -m unit

# Everything: lint, unit + integration, then the browser tests in their own pytest process
# (pytest-jupyter's server fixtures and Playwright's sync API break each other's teardown in one process).
test: install install-test-tools lint
	$(PY) -m pytest -q -m "not ui" -p no:cacheprovider
	$(PY) -m pytest -q -m ui -p no:cacheprovider tests/ui || [ $$? -eq 5 ]

# The RunDetails front end: rebuilds jupyter_amlrun/notebook/static/ (the built bundle is committed, so installs need no node).
.PHONY: js
js:
	cd js && npm ci --no-audit --no-fund && npm run build

# Benchmarks of issue 2 (not tests: they print tables with ratios). Ray comes from the `bench` extra.
.PHONY: bench
bench: install
	$(PIP) install -q -e ".[bench]"
	bash benchmarks/run_all.sh
