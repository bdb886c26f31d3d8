# Postbox developer commands. `make dev` runs Postbox locally; `make test` runs the whole suite.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export CDK_DISABLE_CLI_TELEMETRY := true
export NO_MKDOCS_2_WARNING := 1
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: install dev lint format test docs docs-build rehearsal test-unit test-integration test-infra test-e2e fuzz bench bench-quick soak build synth bootstrap deploy destroy clean

# Two install levels: `make dev` needs only the runtime + local mode; everything else needs the dev tools too.
$(VENV)/bin/python:
	python3 -m venv $(VENV)

$(VENV)/.installed-local: pyproject.toml | $(VENV)/bin/python
	$(VENV)/bin/pip install -q --disable-pip-version-check -e ".[local]"
	touch $@

$(STAMP): pyproject.toml | $(VENV)/bin/python
	$(VENV)/bin/pip install -q --disable-pip-version-check -e ".[dev]"
	touch $@ $(VENV)/.installed-local $(VENV)/.installed-cdk

# What building, synthesizing and deploying need, and no more (no test or lint tools).
$(VENV)/.installed-cdk: pyproject.toml | $(VENV)/bin/python
	$(VENV)/bin/pip install -q --disable-pip-version-check -e ".[cdk]"
	touch $@

install: $(STAMP)

dev: $(VENV)/.installed-local  ## run Postbox locally: moto backend + API on 127.0.0.1:8080 + worker loop (PORT=, MOTO_PORT=)
	$(VENV)/bin/postbox dev $(if $(PORT),--port $(PORT)) $(if $(MOTO_PORT),--moto-port $(MOTO_PORT))

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test: lint docs-build rehearsal  ## lint, build the docs strictly, then every suite: unit, integration, infra, e2e
	$(PY) -m pytest

docs: install  ## serve the documentation site on http://127.0.0.1:8000 (reloads on edits)
	$(VENV)/bin/mkdocs serve -a 127.0.0.1:8000

docs-build: install  ## build the documentation site into .build/site; a broken link or a page not in the nav fails it
	$(VENV)/bin/mkdocs build --strict

# The deploy rehearsal's code, layer and runtime boto3 (tests/infra/test_rehearsal.py): built from PyPI before the
# tests, since no test may use the network. A second run reinstalls nothing unless the pins changed.
rehearsal: install
	$(PY) -m infra.build --rehearsal

test-unit: install
	$(PY) -m pytest tests/unit

test-integration: install
	$(PY) -m pytest tests/integration

test-infra: install rehearsal
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

build: $(VENV)/.installed-cdk  ## stage the Lambda code and its dependency layer into .build/
	$(PY) -m infra.build $(ARGS)

synth: build  ## write the CloudFormation template to cdk.out/ (no AWS credentials, no Docker)
	CDK_OUTDIR=cdk.out $(PY) app.py $(ARGS)

# The pinned CDK CLI (package.json) runs the app with this project's Python, so `-c postbox:<key>=<value>` overrides
# given in ARGS reach it: `make deploy ARGS="-c postbox:workerMemoryMb=1024"`. REQUIRE_APPROVAL=never deploys
# without asking about IAM and security-group changes (CI, no terminal).
CDK := npx --no-install cdk
CDK_APP := --app "$(PY) app.py" --output cdk.out --no-notices
REQUIRE_APPROVAL ?= broadening
ARGS ?=

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

bootstrap: build node_modules/.installed  ## once per account and region: the CDK's staging bucket, repository and roles
	$(CDK) bootstrap $(CDK_APP) $(ARGS)

deploy: build node_modules/.installed  ## deploy to the AWS account of your current credentials
	$(CDK) deploy $(CDK_APP) --require-approval $(REQUIRE_APPROVAL) $(ARGS)

destroy: $(VENV)/.installed-cdk node_modules/.installed  ## remove the stack (tables and buckets with data are kept)
	$(CDK) destroy $(CDK_APP) $(ARGS)

clean:
	rm -rf .build cdk.out .pytest_cache .mypy_cache .ruff_cache
