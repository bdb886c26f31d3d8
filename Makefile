# Postbox developer commands. `make dev` runs Postbox locally; `make test` runs the whole suite.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export CDK_DISABLE_CLI_TELEMETRY := true
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: install dev lint format test test-unit test-integration test-infra test-e2e fuzz bench bench-quick soak build synth deploy destroy clean

# Two install levels: `make dev` needs only the runtime + local mode; everything else needs the dev tools too.
$(VENV)/bin/python:
	python3 -m venv $(VENV)

$(VENV)/.installed-local: pyproject.toml | $(VENV)/bin/python
	$(VENV)/bin/pip install -q --disable-pip-version-check -e ".[local]"
	touch $@

$(STAMP): pyproject.toml | $(VENV)/bin/python
	$(VENV)/bin/pip install -q --disable-pip-version-check -e ".[dev]"
	touch $@ $(VENV)/.installed-local

install: $(STAMP)

dev: $(VENV)/.installed-local  ## run Postbox locally: moto backend + API on 127.0.0.1:8080 + worker loop
	$(VENV)/bin/postbox dev

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test: lint  ## lint, then every suite: unit, integration, infra, e2e
	$(PY) -m pytest

test-unit: install
	$(PY) -m pytest tests/unit

test-integration: install
	$(PY) -m pytest tests/integration

test-infra: install
	$(PY) -m pytest tests/infra

test-e2e: install
	$(PY) -m pytest tests/e2e

fuzz: install  ## schemathesis over every API route against local mode, 100 examples an operation (make test runs 8)
	POSTBOX_FUZZ_EXAMPLES=$${POSTBOX_FUZZ_EXAMPLES:-100} $(PY) -m pytest tests/e2e/test_fuzz.py

bench: install  ## benchmarks: throughput, latency, AWS requests and dollars per message, cold start, memory
	$(PY) -m bench.run

bench-quick: install  ## the same, about a minute
	$(PY) -m bench.run --quick

soak: install  ## 10,000 messages through local mode under every fault; prints lost (must be 0) and duplicates
	$(PY) -m bench.soak

build: install  ## stage the Lambda code and its dependency layer into .build/
	$(PY) -m infra.build

synth: build  ## write the CloudFormation template to cdk.out/ (no AWS credentials, no Docker)
	CDK_OUTDIR=cdk.out $(PY) app.py

deploy: synth  ## deploy to the AWS account of your current credentials
	npm ci --no-audit --no-fund
	npx --no-install cdk deploy --app cdk.out --no-notices

destroy:
	npx --no-install cdk destroy --app cdk.out --no-notices

clean:
	rm -rf .build cdk.out .pytest_cache .mypy_cache .ruff_cache
