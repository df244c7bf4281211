# STC licensing platform — one entry point for the local stack, the build and the tests.
#   make run    bring the whole platform up with sample data (Ctrl-C stops it)
#   make test   install what is missing, start Kafka and PostgreSQL, run every test
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON_BOOT ?= python3
VENV        := .venv
PY          := $(VENV)/bin/python
export STC_STATE_DIR ?= $(CURDIR)/.state
export STC_KAFKA_PORT ?= 9092
export STC_KAFKA_CONTROLLER_PORT ?= 9093
export STC_PG_PORT ?= 55432
export KAFKA_BOOTSTRAP_SERVERS ?= 127.0.0.1:$(STC_KAFKA_PORT)
# make test runs on a stack of its own (its own state folder and ports), so test data never
# lands in the topics and databases that make run shows
export STC_TEST_STATE_DIR ?= $(STC_STATE_DIR)/test
export STC_TEST_KAFKA_PORT ?= 19092
export STC_TEST_KAFKA_CONTROLLER_PORT ?= 19093
export STC_TEST_PG_PORT ?= 55433
TEST_STACK := STC_STATE_DIR=$(STC_TEST_STATE_DIR) STC_KAFKA_PORT=$(STC_TEST_KAFKA_PORT) \
  STC_KAFKA_CONTROLLER_PORT=$(STC_TEST_KAFKA_CONTROLLER_PORT) STC_PG_PORT=$(STC_TEST_PG_PORT)
TEST_ENV := KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:$(STC_TEST_KAFKA_PORT) \
  STC_TEST_DATABASE_URL=postgresql://stc@127.0.0.1:$(STC_TEST_PG_PORT)/postgres
export PYTHONPATH := $(CURDIR)/services/common/src:$(CURDIR)/services/licensing/src:$(CURDIR)/services/screening/src:$(CURDIR)/services/enduser/src:$(CURDIR)/services/credit/src:$(CURDIR)/services/cli/src:$(CURDIR)/services/edge/src
PROTOS      := $(shell find protos -name '*.proto')
PYTEST_ARGS ?=

.PHONY: help venv protos portal browser tools lint-protos up down status logs reset run demo test test-down test-reset test-unit lint typecheck clean

help:
	@echo "make run      bring the platform up with sample data (Ctrl-C stops it)"
	@echo "             STC_REPLICAS=2 make run: two processes of each service (deploy/run.sh --help)"
	@echo "make test     install, start Kafka + PostgreSQL, run all tests"
	@echo "make up|down|status|logs|reset   the local stack (Kafka KRaft + PostgreSQL)"
	@echo "make protos   generate protobuf code into services/common/src/stc"

$(VENV)/.installed: requirements.txt
	@test -x $(PY) || $(PYTHON_BOOT) -m venv $(VENV) || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null \
	    && $(PYTHON_BOOT) -m venv $(VENV); \
	  else echo "python3 -m venv failed: install python3-venv (Python 3.11+) as root" >&2; exit 1; fi; }
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	@# every service's src folder on the venv's path, so `.venv/bin/python -m stc_cli` (or
	@# stc_credit, stc_common.auth.mint …) works from any shell without PYTHONPATH
	printf '%s\n' $(CURDIR)/services/*/src > "$$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/stc-platform.pth"
	@touch $@

venv: $(VENV)/.installed

services/common/src/stc/.generated: $(PROTOS) $(VENV)/.installed
	@# generate into a scratch folder, then copy over: a process importing the code meanwhile
	@# never sees an empty folder. stc.binpb, the descriptor set with every import and the
	@# google.rpc error details, is what the edge's JSON transcoder and the OpenAPI tool read.
	tmp=$$(mktemp -d) && $(PY) -m grpc_tools.protoc -I protos \
	  -I $$($(PY) -c "import google.type, os; print(os.path.dirname(os.path.dirname(google.type.__path__[0])))") \
	  --python_out=$$tmp --pyi_out=$$tmp --grpc_python_out=$$tmp \
	  --include_imports --include_source_info --descriptor_set_out=$$tmp/stc/stc.binpb \
	  $(PROTOS) google/rpc/error_details.proto google/rpc/status.proto \
	  && mkdir -p services/common/src/stc && cp -r $$tmp/stc/. services/common/src/stc/ && rm -rf $$tmp
	@touch $@

protos: services/common/src/stc/.generated

# buf (proto lint) ships as an npm package; without npm the proto lint test skips
BUF := $(STC_STATE_DIR)/tools/node_modules/.bin/buf
$(BUF):
	@mkdir -p $(STC_STATE_DIR)/tools
	@command -v npm >/dev/null && (cd $(STC_STATE_DIR)/tools && npm install --silent --no-audit --no-fund @bufbuild/buf@1.75.0 >/dev/null 2>&1) \
	  || echo "buf could not be installed (npm missing or offline): proto lint will be skipped"

# helm (renders deploy/helm for its test) from its Go module, cached per machine outside the
# checkout (a cold build takes minutes, see deploy/helm/README.md; fresh clones reuse it)
HELM_VERSION := v4.3.2
export STC_TOOLS_CACHE ?= $(HOME)/.cache/stc-tools
HELM := $(STC_TOOLS_CACHE)/helm-$(HELM_VERSION)/helm
export STC_HELM ?= $(HELM)
$(HELM):
	@mkdir -p $(STC_TOOLS_CACHE)/helm-$(HELM_VERSION)
	@if command -v go >/dev/null; then echo "building helm $(HELM_VERSION) with go install (once per machine)"; \
	  GOBIN=$(STC_TOOLS_CACHE)/helm-$(HELM_VERSION) go install helm.sh/helm/v4/cmd/helm@$(HELM_VERSION) \
	  || echo "helm could not be built (offline?): the Helm chart test skips (fails under CI)"; \
	else echo "go is missing: the Helm chart test skips (and fails under CI)"; fi

tools: $(BUF) $(HELM)

lint-protos: tools
	$(PY) -m grpc_tools.protoc -I protos -I $$($(PY) -c "import google.type, os; print(os.path.dirname(os.path.dirname(google.type.__path__[0])))") \
	  --include_imports --include_source_info --descriptor_set_out=$(STC_STATE_DIR)/protos.binpb $(PROTOS)
	$(BUF) lint $(STC_STATE_DIR)/protos.binpb#format=bin --config buf.yaml --exclude-path google

# the reference portal (TypeScript, esbuild) that the edge serves; without npm the edge still
# serves gRPC-Web and JSON, only the portal pages are missing
PORTAL_SRC := $(shell find portal/src portal/static -type f 2>/dev/null) portal/package.json portal/build.mjs
portal/dist/app.js: $(PORTAL_SRC)
	@command -v npm >/dev/null && (cd portal && npm ci --no-audit --no-fund --silent && npm run --silent build) \
	  || echo "npm missing or offline: the portal is not built (the edge serves the APIs only)"

portal: portal/dist/app.js

# the portal's browser tests drive Debian's chromium; installed when missing (as root)
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then echo "installing chromium, chromium-driver, fonts-wqy-zenhei"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	      chromium chromium-driver fonts-wqy-zenhei >/dev/null; \
	  else echo "the browser tests need: apt-get install chromium chromium-driver fonts-wqy-zenhei"; fi; }

up: venv protos
	deploy/stack.sh up

run: venv protos portal
	deploy/run.sh

# the scripted scenario alone, against a platform that `make run` already brought up
demo: venv protos
	$(PY) -m stc_demo --wait

down:
	deploy/stack.sh down

status:
	deploy/stack.sh status

logs:
	deploy/stack.sh logs

reset:
	deploy/stack.sh reset

test-unit: venv protos
	STC_ENVIRONMENT=development $(PY) -m pytest -q -m "not integration and not e2e" $(PYTEST_ARGS)

test: venv protos tools lint typecheck portal browser
	$(TEST_STACK) deploy/stack.sh up
	$(TEST_ENV) STC_ENVIRONMENT=development $(PY) -m pytest -q $(PYTEST_ARGS)

# stop make test's stack (data kept; `make test-reset` deletes it)
test-down:
	$(TEST_STACK) deploy/stack.sh down

test-reset:
	$(TEST_STACK) deploy/stack.sh reset

lint: venv
	$(PY) -m ruff check services tests bench

# static types of the runtime packages (issue 13; part of make test); one package: make typecheck MYPY_PKGS="-p stc_credit"
MYPY_PKGS ?= -p stc_common -p stc_licensing -p stc_screening -p stc_enduser -p stc_credit
typecheck: venv protos
	MYPYPATH=services/common/src:services/licensing/src:services/screening/src:services/enduser/src:services/credit/src \
	  $(PY) -m mypy $(MYPY_PKGS)

clean:
	rm -rf services/common/src/stc .pytest_cache
