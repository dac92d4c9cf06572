# The two commands the README promises: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint install clean messages catalogues

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

# Re-extract every marked string and merge it into each language's .po (then translate the new
# entries: a test fails while any is empty or fuzzy). A new language: see docs/languages.md.
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k lazy_gettext -k N_ --no-location --sort-output \
		-o teambot/locale/teambot.pot teambot
	$(BIN)/pybabel update -i teambot/locale/teambot.pot -d teambot/locale -D teambot --no-fuzzy-matching \
		--ignore-obsolete --ignore-pot-creation-date

# The .mo files (built by `pip install` too; Teambot compiles a missing or stale one itself).
catalogues: $(STAMP)
	$(BIN)/python -m teambot.core.i18n compile

clean:
	rm -rf $(VENV) teambot.db .pytest_cache
