# Thin façade: each recipe calls a real tool.  `make test` and `make run` bootstrap .venv.
PY      ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed

.PHONY: install test lint fmt run clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

test: install
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check gateway
	$(BIN)/mypy

fmt: install
	$(BIN)/ruff format gateway
	$(BIN)/ruff check --fix .

run: install
	@echo "make run: the local stack (S3, edge, gateway, demo) is not built yet (issue 4)." >&2
	@exit 1

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
