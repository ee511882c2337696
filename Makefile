# The template's commands: `make demo` renders and serves a project, `make test` checks everything.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv demo test test-fast bench lint clean

$(STAMP): requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

venv: $(STAMP)

# Render with defaults into build/, install it in its own venv, migrate, create demo users, serve.
demo: $(STAMP)
	$(BIN)/python scripts/demo.py

# Template tests: render every option set, lint, and run each project's own test suite.
test: $(STAMP)
	$(BIN)/python -m pytest tests

# Render and lint only, no generated test suites.
test-fast: $(STAMP)
	$(BIN)/python -m pytest tests -m "not suite"

bench: $(STAMP)
	$(BIN)/python bench/run.py

lint: $(STAMP)
	$(BIN)/ruff check hooks tests bench scripts
	$(BIN)/ruff format --check hooks tests bench scripts

clean:
	rm -rf build
