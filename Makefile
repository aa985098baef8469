# The whole set-up is these targets: each creates .venv when missing and installs into it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: dev test lint typecheck check clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

dev: $(STAMP)  ## Temporal dev server, worker, API, sandbox and a demo tenant, in one process tree
	$(BIN)/crier dev

test: $(STAMP)  ## lint, type-check, then the whole test suite
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy .

clean:
	rm -rf $(VENV) .crier .pytest_cache .mypy_cache .ruff_cache *.egg-info
