# The two commands: `make run` (set up and run the gallery) and `make test` (set up and run the tests).
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: run test setup setup-dev
run: setup
	$(PY) manage.py serve

test: setup-dev
	$(PY) -m pytest

setup:
	@VENV=$(VENV) scripts/setup.sh run

setup-dev:
	@VENV=$(VENV) scripts/setup.sh dev
