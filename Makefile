# The two commands the README promises: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint install clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/teambot run

test: $(STAMP)
	$(BIN)/ruff check teambot tests migrations
	$(BIN)/pytest -n 3 --dist loadfile  # each worker has its own PostgreSQL database (tests/conftest.py)

lint: $(STAMP)
	$(BIN)/ruff check teambot tests migrations

clean:
	rm -rf $(VENV) teambot.db .pytest_cache
