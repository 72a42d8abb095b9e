# One entry point for learners, instructors, maintainers and CI.
# `make lab` and `make test` are the README's two commands; both create .venv on first use.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PYTEST_WORKERS ?= auto
# uv sets the environment up about ten times faster than pip (`make bench`: 8. Cold start). The
# machine's uv is used when there is one, else pip fetches uv (one wheel) into .uv/ first. With
# NO_UV=1, or when uv cannot be had, pip does everything.
UV_HOME := .uv
UV      := $(if $(NO_UV),,$(or $(shell command -v uv 2>/dev/null),$(UV_HOME)/bin/uv))

.PHONY: lab test lint unit bench clean help
.DEFAULT_GOAL := help

help:
	@echo "make lab    set up and start JupyterLab on the student notebooks"
	@echo "make test   set up and run the whole test suite (ruff + pytest)"
	@echo "make lint   ruff only;  make unit   tests without notebooks;  make bench   benchmarks"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "backprop-course needs Python >= 3.11; run make with PYTHON=python3.11 (or newer).")'
	@if [ -n "$(UV)" ] && { [ -x "$(UV)" ] || $(PYTHON) -m pip install --quiet --target $(UV_HOME) uv >/dev/null 2>&1; }; then \
	    echo "$(UV) venv $(VENV)"; "$(UV)" venv --quiet --python "$(PYTHON)" $(VENV); \
	else \
	    echo "$(PYTHON) -m venv $(VENV)"; $(PYTHON) -m venv $(VENV) && $(BIN)/python -m pip install --quiet --upgrade pip; \
	fi

# $(call install,ARGS): uv pip install ARGS into the environment, or pip when uv is not there.
define install
	@if [ -x "$(UV)" ]; then \
	    echo "$(UV) pip install $(1)"; "$(UV)" pip install --quiet --python $(BIN)/python $(1); \
	else \
	    echo "pip install $(1)"; $(BIN)/python -m pip --version >/dev/null 2>&1 || $(BIN)/python -m ensurepip --quiet; \
	    $(BIN)/python -m pip install --quiet $(1); \
	fi
endef

# Reinstall when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(call install,-e .)
	@touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(call install,-e '.[test]')
	@touch $@ $(VENV)/.installed

# LAB_ARGS go to JupyterLab, e.g. make lab LAB_ARGS="--no-browser --port=8899".
lab: $(VENV)/.installed
	$(BIN)/backprop-course lab $(LAB_ARGS)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .

# Unit tests, notebook tests, and every source notebook executed top to bottom by nbval.
# --dist loadfile keeps each file (and each notebook's cells) on one worker.
# One BLAS thread per process: xdist already runs a worker per core, and BLAS threads on top of
# that made one digits training (notebook 10) 5-10 times slower on 2 cores.
test: export OPENBLAS_NUM_THREADS := 1
test: export OMP_NUM_THREADS := 1
test: lint
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile --nbval --nbval-cell-timeout=300 tests course/source

unit: $(VENV)/.installed-test
	$(BIN)/pytest -p no:nbval -m "not notebook and not browser"

bench: $(VENV)/.installed-test
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) $(UV_HOME) *.egg-info .pytest_cache .hypothesis
