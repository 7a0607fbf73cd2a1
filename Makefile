# Every target creates .venv from requirements.lock when it is missing or out of date.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PATH := $(abspath $(BIN)):$(PATH)

# The official components image's Python (3.7) with its boto3 1.14 / botocore 1.17, for the tests
# that run our programs for that image as it would. Made only where a python3.7 exists (pyenv's or
# on PATH); without one those tests skip and say why.
PYTHON37 ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.7*/bin/python3.7) $(shell command -v python3.7 2>/dev/null))
VENV37 := .venv37
STAMP37 := $(VENV37)/.installed

.PHONY: demo test bench lab lint clean lock local-start local-stop aws-smoke

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $(STAMP)

$(STAMP37): tests/official-image-requirements.txt
	@if [ -z "$(PYTHON37)" ]; then \
	  echo "no python3.7 here: the tests that run the official image's programs under it will skip"; \
	else \
	  { test -x $(VENV37)/bin/python || $(PYTHON37) -m venv $(VENV37); } && \
	  $(VENV37)/bin/python -m pip install --quiet --disable-pip-version-check \
	    -r tests/official-image-requirements.txt && touch $(STAMP37); \
	fi

demo: $(STAMP)  ## run every notebook headlessly on the local AWS into runs/<timestamp>/
	$(BIN)/python -m helpers.demo

test: $(STAMP) $(STAMP37)  ## unit tests, local-AWS tests and every notebook (papermill and nbval)
	$(BIN)/python -m pytest tests

aws-smoke: $(STAMP)  ## the smallest real run on your account (asks first; removes what it made)
	$(BIN)/python -m helpers.smoke

bench: $(STAMP)  ## ours vs the upstream way: staging, annotations, walkthrough (a few minutes)
	$(BIN)/python -m benchmarks

lab: $(STAMP)  ## start the local AWS and JupyterLab on the notebooks
	$(BIN)/python -m helpers.local start
	$(BIN)/jupyter lab --ip 127.0.0.1 notebooks

lint: $(STAMP)  ## ruff on the code, and through nbqa on the notebooks
	$(BIN)/ruff check helpers tests benchmarks
	$(BIN)/ruff format --check helpers tests benchmarks
	$(BIN)/nbqa ruff notebooks --extend-ignore=E402,B018

local-start: $(STAMP)
	$(BIN)/python -m helpers.local start

local-stop: $(STAMP)
	$(BIN)/python -m helpers.local stop

clean:
	-test -x $(BIN)/python && $(BIN)/python -m helpers.local stop
	rm -rf runs .local-aws .pytest_cache .ruff_cache

lock:  ## re-resolve requirements.txt + requirements-dev.txt into requirements.lock
	rm -rf /tmp/walkthrough-lock-venv && $(PYTHON) -m venv /tmp/walkthrough-lock-venv
	/tmp/walkthrough-lock-venv/bin/pip install --quiet -r requirements.txt -r requirements-dev.txt
	{ echo "# Exact versions for make and CI (Python 3.11). Regenerate: make lock"; \
	  /tmp/walkthrough-lock-venv/bin/pip freeze --exclude-editable | grep -v '^-e'; } > requirements.lock
