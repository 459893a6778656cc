# Croupier — developer entry points. `make help` lists every target.

SHELL := /usr/bin/env bash
.DEFAULT_GOAL := help

##@ General

.PHONY: help
help: ## Show the targets and what each does.
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make <target>\n"} \
	  /^[a-zA-Z_0-9-]+:.*?##/ { printf "  %-18s %s\n", $$1, $$2 } \
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
bench-loadtest: ## Load-test 10,000 players with a reconnect storm against the platform and bare socket.io; writes plots to docs/ (about 4 minutes on 2 cores).
	bash scripts/bench-loadtest.sh

.PHONY: generate
generate: ## Regenerate the Tenant CRD from operator/src/api/tenant.ts (and its copy in the operator chart).
	npm run generate -w operator
	cp operator/config/crd/platform.croupier.dev_tenants.yaml charts/croupier-operator/files/crds/

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

.PHONY: build
build: ## Compile every workspace to its dist/ folder with tsc -b, as the image build stage does.
	npx tsc -b

.PHONY: typecheck
typecheck: build ## Type-check every workspace (tsc -b checks while it compiles).

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

##@ Kind

# kind v0.33.0 from the Go module proxy unless KIND names another binary; kind needs Docker or Podman.
KIND ?= go run sigs.k8s.io/kind@v0.33.0
KUBECTL ?= kubectl
# helm v4.3.2, built and cached by charts/tools/build.sh unless HELM names another binary.
HELM ?= $$(charts/tools/build.sh)/helm
KIND_CLUSTER := croupier
CROUPIER_NAMESPACE := croupier-system

.PHONY: kind-up
kind-up: ## Create the kind cluster of kind-config.yaml (one control plane, one worker, host ports 30080-30083).
	$(KIND) create cluster --config kind-config.yaml

.PHONY: kind-down
kind-down: ## Delete the kind cluster and everything in it.
	$(KIND) delete cluster --name $(KIND_CLUSTER)

.PHONY: kind-infra
kind-infra: ## Install RabbitMQ, Redis and PostgreSQL (chart croupier-infra-dev) into croupier-system and wait for them.
	$(HELM) upgrade --install croupier-infra charts/croupier-infra-dev --namespace $(CROUPIER_NAMESPACE) --create-namespace \
	  -f charts/examples/values-infra-kind.yaml --wait --timeout 10m

.PHONY: kind-operator
kind-operator: ## Install or upgrade the operator chart, with the Tenant CRD, into croupier-system and wait for it.
	$(HELM) upgrade --install croupier charts/croupier-operator --namespace $(CROUPIER_NAMESPACE) --create-namespace \
	  -f charts/examples/values-kind.yaml --wait --timeout 5m

.PHONY: kind-tenants
kind-tenants: ## Apply the example Tenants alpha and beta, wait until Ready, and publish them on the host ports.
	$(KUBECTL) apply -f charts/examples/rules-beta.yaml -f charts/examples/tenant-alpha.yaml -f charts/examples/tenant-beta.yaml
	$(KUBECTL) wait --for=condition=Ready tenant/alpha tenant/beta --timeout 10m
	$(KUBECTL) apply -f charts/examples/nodeports.yaml
	$(KUBECTL) get tenants

.PHONY: kind-undeploy
kind-undeploy: ## Delete the example Tenants, then uninstall the operator and the infrastructure (the CRD, the infrastructure's volumes and admin Secrets stay; kind-down removes all).
	$(KUBECTL) delete --ignore-not-found --wait -f charts/examples/tenant-alpha.yaml -f charts/examples/tenant-beta.yaml --timeout 5m
	$(KUBECTL) delete --ignore-not-found -f charts/examples/rules-beta.yaml
	$(HELM) uninstall croupier --namespace $(CROUPIER_NAMESPACE) --ignore-not-found --wait
	$(HELM) uninstall croupier-infra --namespace $(CROUPIER_NAMESPACE) --ignore-not-found --wait

##@ Images

.PHONY: images
images: ## Build the wallet, rules, push-gateway and operator images, tagged with the root package.json version (needs docker or podman).
	bash scripts/images.sh

.PHONY: kind-load
kind-load: ## Build the images and load them into the kind cluster (KIND, KIND_CLUSTER; CONTAINER_ENGINE=podman works too).
	KIND="$(KIND)" KIND_CLUSTER=$(KIND_CLUSTER) bash scripts/images.sh --kind

##@ Charts

.PHONY: chart-tools
chart-tools: ## Build helm v4.3.2 and kubeconform v0.8.0 from the Go module proxy (cached) and print their directory.
	charts/tools/build.sh

.PHONY: chart-lint
chart-lint: ## Run helm lint --strict on both charts with their default values.
	$(HELM) lint --strict charts/croupier-operator charts/croupier-infra-dev

.PHONY: chart-check
chart-check: ## Lint, render and schema-check every chart and example, install them into a test API server and run the operator there.
	scripts/infra.sh up
	eval "$$(scripts/infra.sh env)" && node --conditions=source --import tsx --test --test-concurrency=1 --test-reporter=spec charts/test/charts.test.ts
