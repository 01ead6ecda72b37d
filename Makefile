# Every target sets itself up: uv (bootstrapped into .tools/ if missing), the locked
# virtualenv and the pinned npm packages. Only Python 3.11+, Node 18+ and make are assumed.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

export UV_PYTHON_DOWNLOADS := never
UV_VERSION := 0.13.9
UV := $(or $(shell command -v uv 2>/dev/null),.tools/bin/uv)
VENV := .venv
PY := $(VENV)/bin/python
SYNCED := $(VENV)/.synced
NODE_READY := node_modules/.installed

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

.tools/bin/uv:
	python3 -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(SYNCED): pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen
	@touch $@

$(NODE_READY): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

.PHONY: setup
setup: $(SYNCED) $(NODE_READY) ## Install the locked Python and npm dependencies

# --- service ---------------------------------------------------------------

.PHONY: run
run: $(SYNCED) ## Serve on 127.0.0.1:8080 with SQLite (production server)
	$(VENV)/bin/hello-birthday serve

.PHONY: dev
dev: $(SYNCED) ## Flask's debug server with reload
	$(VENV)/bin/flask --app hello_birthday.app:create_app_from_env --debug run --port 8080

# --- docs --------------------------------------------------------------------

.PHONY: diagram
diagram: $(SYNCED) ## Draw docs/architecture.png and docs/delivery-flow.png offline with Graphviz
	@command -v dot >/dev/null || { apt-get update -qq && apt-get install -y -qq graphviz >/dev/null; }
	$(PY) docs/architecture.py render

# --- infra -------------------------------------------------------------------

.PHONY: infra-check
infra-check: $(SYNCED) ## Offline Terraform checks: fmt, checkov, policy tests (tests/infra)
	scripts/infra-check
