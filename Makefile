# One entry point for learners, instructors, maintainers and CI.
# `make lab` and `make test` are the README's two commands; both create .venv on first use.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PYTEST_WORKERS ?= auto

.PHONY: lab test lint unit bench clean help
.DEFAULT_GOAL := help

help:
	@echo "make lab    set up and start JupyterLab on the student notebooks"
	@echo "make test   set up and run the whole test suite (ruff + pytest)"
	@echo "make lint   ruff only;  make unit   tests without notebooks;  make bench   benchmarks"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "backprop-course needs Python >= 3.11; run make with PYTHON=python3.11 (or newer).")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@ $(VENV)/.installed

lab: $(VENV)/.installed
	$(BIN)/backprop-course lab

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .

# Unit tests, notebook tests, and every source notebook executed top to bottom by nbval.
# --dist loadfile keeps each file (and each notebook's cells) on one worker.
test: lint
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile --nbval --nbval-cell-timeout=300 tests course/source

unit: $(VENV)/.installed-test
	$(BIN)/pytest -p no:nbval -m "not notebook and not browser"

bench: $(VENV)/.installed-test
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .hypothesis
