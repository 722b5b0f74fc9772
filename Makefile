# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
export MLFLOW_DISABLE_TELEMETRY := true
export PIP_DISABLE_PIP_VERSION_CHECK := 1

# jlpm (from the jupyter-builder / jupyterlab pip packages) and `jupyter` come from the venv.
VENV_PATH := PATH="$(abspath $(VENV))/bin:$$PATH"

.PHONY: install demo test test-fast test-slow lint format install-test-tools labext labext-lint

install: $(VENV)/.installed

# The editable install builds the sidebar extension (hatch-jupyter-builder runs `jlpm install:extension` in
# labextension/ when its sources are newer than jupyter_amlrun/labextension/; Node is needed for that), then
# `jupyter labextension develop` links the build into the venv, where JupyterLab finds it.
$(VENV)/.installed: pyproject.toml labextension/package.json labextension/yarn.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(VENV_PATH) $(PIP) install -q -e ".[dev]"
	test -f jupyter_amlrun/labextension/static/style.js || $(MAKE) labext-build
	$(VENV_PATH) $(VENV)/bin/jupyter labextension develop . --overwrite
	touch $@

# Rebuild the JupyterLab sidebar (labextension/) after editing its TypeScript; a page reload in Lab picks it up.
labext: install labext-build
	$(VENV_PATH) $(VENV)/bin/jupyter labextension develop . --overwrite

.PHONY: labext-build
labext-build:
	cd labextension && $(VENV_PATH) jlpm install --immutable && $(VENV_PATH) jlpm build

# TypeScript lint: prettier and eslint as the extension template sets them.
labext-lint: install
	cd labextension && $(VENV_PATH) jlpm install --immutable && $(VENV_PATH) jlpm lint:check

# Test-only tools that are not Python packages (Azurite, Chromium): each helper script is idempotent.
install-test-tools: install
	PY="$(abspath $(PY))" bash scripts/install-test-tools.sh

demo: install
	$(PY) examples/demo.py

lint: install labext-lint
	$(VENV)/bin/ruff check jupyter_amlrun tests benchmarks examples
	$(VENV)/bin/ruff format --check jupyter_amlrun tests benchmarks examples
	$(VENV)/bin/mypy
	$(PY) scripts/check_layers.py

format: install
	$(VENV)/bin/ruff format jupyter_amlrun tests benchmarks examples
	$(VENV)/bin/ruff check --fix jupyter_amlrun tests benchmarks examples

test-fast: install
	$(PY) -m pytest -q -m unit

# Lint, unit + integration, then the browser tests in their own pytest process
# (pytest-jupyter's server fixtures and Playwright's sync API break each other's teardown in one process).
# Four workers, whole files each (module-scoped servers stay in one worker): most tests wait on subprocesses,
# servers and runs rather than on the CPU (measured on 2 cores: four long integration files took 34% less time on four
# workers than on two, for the same CPU seconds). Files go in the order tests/conftest.py sets (the long ones first),
# not xdist's most-tests-first, which left a long few-test file running alone at the end.
# Tests marked `slow` (stress loads, long waits, clean-venv installs, torch ranks on Ray, heavy notebooks: half a minute
# to two each) are left to `make test-slow`; CI (.ci/run) runs both.
TEST_WORKERS ?= 4
test: install install-test-tools lint
	$(PY) -m pytest -q -m "not ui and not slow" -p no:cacheprovider -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder
	$(PY) -m pytest -q -m "ui and not slow" -p no:cacheprovider tests/ui || [ $$? -eq 5 ]

test-slow: install install-test-tools
	$(PY) -m pytest -q -m "slow and not ui" -p no:cacheprovider -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

# The RunDetails front end: rebuilds jupyter_amlrun/notebook/static/ (the built bundle is committed, so installs need no node).
.PHONY: js
js:
	cd js && npm ci --no-audit --no-fund && npm run build

# Benchmarks of issue 2 (not tests: they print tables with ratios). Ray comes from the `bench` extra.
.PHONY: bench
bench: install
	$(PIP) install -q -e ".[bench]"
	bash benchmarks/run_all.sh
