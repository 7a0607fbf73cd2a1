# Every target installs into .venv what it needs (locks/<target>.txt), when missing or out of date:
# `make demo` the notebooks and the local AWS, `make lab` adds JupyterLab, `make test` adds the
# test tools. scripts/install uses uv (from PATH, or fetched once from the package index) and
# falls back to pip where uv cannot be had.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALL := scripts/install
export PATH := $(abspath $(BIN)):$(PATH)

# The official components image's Python (3.7) with its boto3 1.14 / botocore 1.17, for the tests
# that run our programs for that image as it would. Made only where a python3.7 exists (pyenv's or
# on PATH); without one those tests skip and say why.
PYTHON37 ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.7*/bin/python3.7) $(shell command -v python3.7 2>/dev/null))
VENV37 := .venv37
STAMP37 := $(VENV37)/.installed

# A Kubeflow notebook image's Python (3.12) with the lowest kfp the ranges allow (2.16):
# `make test-kubeflow-image` runs the unit tests and notebooks 01-03 there.
PYTHON312 ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.12*/bin/python3.12) $(shell command -v python3.12 2>/dev/null))
VENV312 := .venv312
# The unit tests (no local AWS), the pipeline on kfp.local, and notebooks 01-03 (04 and 05 run in
# `make test`); JupyterLab is not in a notebook image, so test_lab.py is not among them.
UNIT_TESTS := awserrors gt_inputs iam_policy kfp_client mirror openimages progress records \
  requirements results settings shapes smoke trainer workforce
KUBEFLOW_IMAGE_TESTS := $(UNIT_TESTS:%=tests/test_%.py) tests/test_pipeline.py \
  tests/test_notebooks.py --deselect tests/test_notebooks.py::test_every_notebook_passes_nbval \
  tests/test_checks.py::test_notebook_02_shows_the_table_and_says_done
# pytest's processes for `make test` (pytest-xdist); 0 runs in this process. --dist loadfile keeps a
# module's tests in one process: its module fixtures (a notebook run, the rehearsal) run once, in order
TEST_WORKERS ?= 2

# Label Studio, the second labeling backend, in its own venv (.venv-ls, about 1 GB; its Django and
# pins clash with ours): `make test` installs it (its tests run a real server); `make demo` and
# `make lab` only when the labeling backend is label_studio (WALKTHROUGH_LABELING_BACKEND, else
# "labeling_backend" in the settings file). scripts/install-label-studio is a no-op once done.
LS_VENV := .venv-ls
LS_STAMP := $(LS_VENV)/.installed
SETTINGS_FILE := $(or $(WALKTHROUGH_SETTINGS_FILE),settings.json)
ifdef WALKTHROUGH_LABELING_BACKEND
WANTS_LABEL_STUDIO := $(filter label_studio,$(WALKTHROUGH_LABELING_BACKEND))
else
WANTS_LABEL_STUDIO := $(shell grep -qsE '"labeling_backend"[[:space:]]*:[[:space:]]*"label_studio"' \
  $(SETTINGS_FILE) && echo yes)
endif
LABEL_STUDIO_IF_WANTED := $(if $(WANTS_LABEL_STUDIO),$(LS_STAMP))

.PHONY: demo test test-kubeflow-image bench lab checks settings lint clean lock local-start local-stop aws-smoke

$(VENV)/.installed-%: locks/%.txt pyproject.toml $(INSTALL)
	$(INSTALL) $(VENV) $< $(PYTHON)
	@touch $@

$(LS_STAMP): locks/label-studio.txt scripts/install-label-studio
	scripts/install-label-studio $(LS_VENV) $(PYTHON)

$(STAMP37): tests/official-image-requirements.txt
	@if [ -z "$(PYTHON37)" ]; then \
	  echo "no python3.7 here: the tests that run the official image's programs under it will skip"; \
	else \
	  { test -x $(VENV37)/bin/python || $(PYTHON37) -m venv $(VENV37); } && \
	  $(VENV37)/bin/python -m pip install --quiet --disable-pip-version-check \
	    -r tests/official-image-requirements.txt && touch $(STAMP37); \
	fi

DEMO := $(VENV)/.installed-demo
LAB := $(VENV)/.installed-lab
TEST := $(VENV)/.installed-test

demo: $(DEMO) $(LABEL_STUDIO_IF_WANTED)  ## run every notebook headlessly on the local AWS into runs/<timestamp>/
	$(BIN)/python -m helpers.demo

test: $(TEST) $(STAMP37) $(LS_STAMP)  ## unit tests, local-AWS tests and every notebook (papermill and nbval)
	$(BIN)/python -m pytest tests --durations=15 $(if $(filter-out 0,$(TEST_WORKERS)),-n $(TEST_WORKERS) --dist loadfile)

test-kubeflow-image:  ## unit tests and notebooks 01-03 on Python 3.12 with kfp 2.16 (a Kubeflow image)
	@if [ -z "$(PYTHON312)" ]; then \
	  echo "no python3.12 here: skipping the Kubeflow notebook image's tests (Python 3.12, kfp 2.16)"; \
	else \
	  $(INSTALL) $(VENV312) locks/kubeflow-image.txt $(PYTHON312) && \
	  $(VENV312)/bin/python -m pytest $(KUBEFLOW_IMAGE_TESTS) $(if $(filter-out 0,$(TEST_WORKERS)),-n $(TEST_WORKERS)); \
	fi

aws-smoke: $(DEMO)  ## the smallest real run on your account (asks first; removes what it made)
	$(BIN)/python -m helpers.smoke

bench: $(TEST)  ## ours vs the upstream way: staging, annotations, walkthrough, scale (about 12 minutes)
	$(BIN)/python -m benchmarks

lab: $(LAB) $(LABEL_STUDIO_IF_WANTED)  ## JupyterLab on the notebooks, with the local AWS (stopped again if it started it)
	$(BIN)/python -m helpers.lab

checks: $(DEMO)  ## the setup checks of notebook 02 for your settings (ARGS=--create-missing to create)
	$(BIN)/python -m helpers.checks $(ARGS)

settings: $(DEMO)  ## print the settings in effect and where each came from
	$(BIN)/python -m helpers.settings

lint: $(TEST)  ## ruff on the code, and through nbqa on the notebooks
	$(BIN)/ruff check helpers tests benchmarks
	$(BIN)/ruff format --check helpers tests benchmarks
	$(BIN)/nbqa ruff notebooks --extend-ignore=E402,B018

local-start: $(DEMO)
	$(BIN)/python -m helpers.local start

local-stop: $(DEMO)
	$(BIN)/python -m helpers.local stop

clean:  ## stop the local AWS (and its Label Studio); remove runs and caches (the venvs stay: `rm -rf .venv*`)
	-test -x $(BIN)/python && $(BIN)/python -m helpers.local stop
	rm -rf runs .local-aws .pytest_cache .ruff_cache

UV_COMPILE = uv pip compile pyproject.toml --quiet --custom-compile-command "make lock"

lock:  ## re-resolve pyproject.toml's ranges into locks/*.txt (needs uv on PATH)
	$(UV_COMPILE) --universal --python-version 3.11 --extra local --extra lab --extra dev -o locks/test.txt
	$(UV_COMPILE) --universal --python-version 3.11 --extra local -c locks/test.txt -o locks/demo.txt
	$(UV_COMPILE) --universal --python-version 3.11 --extra local --extra lab -c locks/test.txt -o locks/lab.txt
	$(UV_COMPILE) --python-version 3.12 --extra local --extra dev \
	  -c locks/kubeflow-image-constraints.txt -o locks/kubeflow-image.txt
