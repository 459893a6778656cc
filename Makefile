# Croupier — developer entry points. `make help` lists every target.

SHELL := /usr/bin/env bash
.DEFAULT_GOAL := help

##@ General

.PHONY: help
help: ## Show the targets and what each does.
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make <target>\n"} \
	  /^[a-zA-Z_0-9-]+:.*?##/ { printf "  %-14s %s\n", $$1, $$2 } \
	  /^##@/ { printf "\n%s\n", substr($$0, 5) }' $(MAKEFILE_LIST)

##@ Run

.PHONY: demo
demo: ## Run the two-brand demo end to end (installs and starts what it needs).
	bash scripts/demo.sh

.PHONY: operator-sandbox
operator-sandbox: ## Run the operator on a local API server and onboard a sample Tenant (KEEP=1 to keep it running).
	bash scripts/operator-sandbox.sh $(if $(KEEP),--keep,)

.PHONY: bench
bench: bench-balance bench-rules bench-operator bench-loadtest ## Run every benchmark and rewrite docs/benchmarks.md.

.PHONY: bench-balance
bench-balance: ## Measure balance-path latency and throughput (about 6 minutes).
	bash scripts/bench.sh

.PHONY: bench-rules
bench-rules: ## Measure event-to-intervention latency of the rules engine at 1,000 events/s (about 1 minute).
	bash scripts/bench-rules.sh

.PHONY: bench-operator
bench-operator: ## Measure Tenant onboarding, idle API load and operator memory (about 5 minutes).
	bash scripts/bench-operator.sh

.PHONY: bench-loadtest
bench-loadtest: ## Load-test 10,000 players with a reconnect storm against the platform and bare socket.io; writes plots to docs/ (about 6 minutes).
	bash scripts/bench-loadtest.sh

.PHONY: generate
generate: ## Regenerate the Tenant CRD from operator/src/api/tenant.ts.
	npm run generate -w operator

##@ Load tests

.PHONY: loadtest-kind
loadtest-kind: ## Run the k6 balance-push Job on the current kind context and print its logs (needs kind, kubectl and a deployed brand; K6_NAMESPACE, PLAYERS, RATE, ...).
	bash scripts/loadtest-kind.sh

##@ Development

.PHONY: install
install: ## Install the npm dependencies of every workspace.
	npm ci --no-audit --no-fund

.PHONY: test
test: ## Run the whole test suite against real PostgreSQL, RabbitMQ and Redis.
	bash scripts/test.sh

.PHONY: typecheck
typecheck: ## Type-check every workspace.
	npx tsc -b

.PHONY: lint
lint: ## Lint every workspace.
	npx eslint .

##@ Infrastructure

.PHONY: infra-up
infra-up: ## Install (if missing) and start PostgreSQL, RabbitMQ and Redis on loopback.
	scripts/infra.sh up

.PHONY: infra-down
infra-down: ## Stop PostgreSQL, RabbitMQ and Redis.
	scripts/infra.sh down

.PHONY: infra-status
infra-status: ## Show whether each infrastructure component is running.
	scripts/infra.sh status
