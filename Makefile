# The project's verbs. Everything installs from this repo's files: uv (if missing), then the locked
# Python environment. No AWS credentials, network lookups or Docker are needed to synth or test.
SHELL := /bin/bash
ENVIRONMENT ?= dev
UV_VERSION := 0.13.9
UV := $(or $(shell command -v uv 2>/dev/null),$(CURDIR)/.tools/bin/uv)
PY := .venv/bin/python
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

.PHONY: synth test lint format install bench bench-synth docs

install: .venv/.synced

$(CURDIR)/.tools/bin/uv:
	python3 -m venv .tools && .tools/bin/pip install --quiet uv==$(UV_VERSION)

.venv/.synced: pyproject.toml uv.lock storefront/pyproject.toml tapstack_cli/pyproject.toml | $(UV)
	$(UV) sync --frozen
	touch $@

# REGION=eu-central-1 picks the region; CONTEXT="-c service.max_tasks=20 ..." sets any other setting.
synth: install ## synthesize TapStack-$(ENVIRONMENT) (and its us-east-1 companion) into cdk.out/ (cdk-nag gate)
	$(PY) app.py -c environment=$(ENVIRONMENT) $(if $(REGION),-c region=$(REGION)) $(CONTEXT)

docs: install ## regenerate docs/configuration.md (every context key) and docs/api.md (the service's OpenAPI document)
	$(PY) -m ops.config_docs
	$(PY) -m ops.api_docs

test: install ## every test and gate: CDK assertions, cdk-nag, cfn-lint, ruff, mypy, storefront
	PYTEST_ADDOPTS="-n 2 --dist loadgroup $$PYTEST_ADDOPTS" $(UV) run --frozen pytest

lint: install
	$(UV) run --frozen ruff check . && $(UV) run --frozen ruff format --check . && $(UV) run --frozen mypy

bench: bench-synth bench-storefront ## benchmarks (not tests); results go to bench/RESULTS.md

bench-synth: install ## synth time of each profile beside a TypeScript baseline app (not shipped here: ../shared/seed/ts-baseline)
	$(PY) bench/synth_bench.py --rounds 3

format: install
	$(UV) run --frozen ruff format . && $(UV) run --frozen ruff check --fix .
include mk/*.mk
