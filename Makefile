# The template's commands: `make demo` renders and serves a project, `make test` checks everything.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv demo test test-fast bench lint lock golden clean

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
	$(BIN)/python -m pytest tests --durations=15

# Render and lint only: no generated test suites, no image build.
test-fast: $(STAMP)
	$(BIN)/python -m pytest tests -m "not suite and not image"

# Regenerate the shipped uv.lock after changing the rendered pyproject.toml's dependencies.
lock: $(STAMP)
	$(BIN)/python scripts/lock.py

# Rewrite the golden file lists (tests/golden/) after adding or removing a rendered file.
golden: $(STAMP)
	$(BIN)/python -m tests.golden

bench: $(STAMP)
	$(BIN)/python bench/run.py

lint: $(STAMP)
	$(BIN)/ruff check hooks tests bench scripts
	$(BIN)/ruff format --check hooks tests bench scripts

clean:
	rm -rf build
