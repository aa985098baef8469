# The whole set-up is these targets: each creates .venv when missing and installs into it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The browser tests drive Debian's chromium (never a downloaded one); installed when missing.
CHROMIUM := /usr/bin/chromium
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: dev test test-postgres chaos bench lint typecheck check clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

dev: $(STAMP)  ## Temporal dev server, worker, API, sandbox and a demo tenant, in one process tree
	$(BIN)/crier dev

$(CHROMIUM):
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium

test: $(STAMP) $(CHROMIUM)  ## lint, type-check, then the whole test suite
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/pytest

test-postgres: $(STAMP) $(CHROMIUM)  ## the test suite again, each test on its own PostgreSQL database
	CRIER_TEST_DATABASE=postgresql $(BIN)/pytest

chaos: $(STAMP)  ## the full chaos run: 1,000 targets, 3 worker kills, a server restart
	CRIER_CHAOS_TARGETS=1000 CRIER_CHAOS_KILLS=3 $(BIN)/pytest -s -p no:cacheprovider tests/chaos

bench: $(STAMP)  ## crier next to bare Temporal on one dev server: lateness, drain, API, memory, a crash
	$(BIN)/python -m bench.run

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy .

clean:
	rm -rf $(VENV) .crier .pytest_cache .mypy_cache .ruff_cache *.egg-info
