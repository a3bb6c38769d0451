# Two commands on a fresh machine: `make plan` and `make test`. Everything else is optional.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STACK ?= prod

.PHONY: help setup plan plan-json cost test lint app-build docs clean bench-policies mutate \
	preflight migrate deploy status logs rollback destroy

help:
	@echo "make plan [STACK=prod|staging]   offline plan: resources, policy results, cost (no AWS, no CLI)"
	@echo "make plan-json [STACK=...]       the same as JSON"
	@echo "make test                        lint + all tests"
	@echo "make docs                        regenerate the README's generated tables"
	@echo "make bench-policies              time the policy pack at 500, 1,000 and 5,000 resources (gRPC)"
	@echo "make mutate                      mutation testing of policies/ and infra/config.py (slow)"
	@echo "make preflight|migrate|deploy|status|logs|rollback|destroy STACK=...   operations (AWS + Pulumi CLI)"

# The virtualenv is the one Pulumi.yaml names, so `pulumi up` and these targets share it.
# Set-up output goes to stderr so `make plan-json` prints nothing but JSON on stdout.
$(VENV)/.installed: requirements.txt requirements-dev.txt policies/requirements.txt
	@echo "installing the pinned dependencies into $(VENV)" >&2
	@$(PYTHON) -m venv $(VENV) >&2
	@$(PY) -m pip install --quiet --upgrade pip >&2
	@$(PY) -m pip install --quiet -r requirements-dev.txt >&2
	@touch $@

setup: $(VENV)/.installed app-build

app/node_modules/.package-lock.json: app/package.json app/package-lock.json
	# --ignore-scripts: Prisma's postinstall downloads engines; the Docker build does that step.
	cd app && npm ci --ignore-scripts --no-audit --no-fund
	touch $@

app/dist/src/main.js: app/node_modules/.package-lock.json $(shell find app/src -type f 2>/dev/null) app/tsconfig.json
	cd app && npm run build

app-build: app/dist/src/main.js

plan: $(VENV)/.installed
	@$(PY) -m offline.plan --stack $(STACK)

plan-json: $(VENV)/.installed
	@$(PY) -m offline.plan --stack $(STACK) --json

cost: $(VENV)/.installed
	@$(PY) -m offline.cost --stack $(STACK)

# Operations on a deployed stack (python -m ops <command> --help for every option; ARGS=... adds some).
preflight migrate deploy status logs rollback destroy: $(VENV)/.installed
	@$(PY) -m ops $@ --stack $(STACK) $(ARGS)

lint: $(VENV)/.installed
	$(PY) -m ruff check .

test: setup lint
	$(PY) -m pytest

# The policy pack over 500, 1,000 and 5,000 resources through gRPC, as the CLI drives it (not part of `make test`).
bench-policies: $(VENV)/.installed
	$(PY) -m bench.policies

# Mutation testing of policies/ and infra/config.py (slow; see README "Mutation testing"). ARGS="--only guardrails/iam.py"
mutate: $(VENV)/.installed
	$(PY) -m mutation $(ARGS)

docs: $(VENV)/.installed
	$(PY) -m offline.docs --write README.md

clean:
	rm -rf $(VENV) app/node_modules app/dist .pytest_cache .ruff_cache
