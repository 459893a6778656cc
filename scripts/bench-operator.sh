#!/usr/bin/env bash
# Measures Tenant onboarding, idle API load and operator memory, and rewrites
# the operator section of docs/benchmarks.md. Builds the test kube-apiserver
# and etcd on first use (see operator/testenv/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/prepare.sh

exec node --conditions=source --import tsx operator/bench/onboarding.ts "$@"
