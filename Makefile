# Two entry points: `make run` and `make test`. Both set everything up on a fresh machine.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PG_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test

.PHONY: run test install install-dev catalogs lint bench clean

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is needed ($(PYTHON) not found); set PYTHON=/path/to/python3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml setup.py
	$(BIN)/pip install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: $(BIN)/python pyproject.toml setup.py
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# Not needed to run or test: the install compiles the catalogs, and a catalog whose .po changed
# is compiled again when first used. Kept for developers who want the .mo files now.
catalogs: $(VENV)/.installed
	$(BIN)/python -m locales.catalogs compile

run: install
	$(BIN)/centrale db upgrade
	$(BIN)/centrale run

test: install-dev
	$(BIN)/python -m pytest -q -p no:cacheprovider
	@if $(BIN)/python -m tests.pg_available "$(PG_TEST_URL)"; then \
		echo "== PostgreSQL leg ($(PG_TEST_URL)) =="; \
		TEST_DATABASE_URL="$(PG_TEST_URL)" $(BIN)/python -m pytest -q -p no:cacheprovider -m "not sqlite_only"; \
	elif [ "$$CI" = "true" ]; then \
		echo "PostgreSQL is not reachable at $(PG_TEST_URL): under CI this is a failure."; exit 1; \
	else \
		echo "PostgreSQL is not reachable at $(PG_TEST_URL): only the SQLite leg ran (set PG_TEST_URL to run the PostgreSQL one)."; \
	fi

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-logo

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .import_linter_cache
