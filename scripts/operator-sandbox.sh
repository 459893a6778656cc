#!/usr/bin/env bash
# Runs the operator against a local kube-apiserver and the shared clusters of
# scripts/infra.sh, applies a sample Tenant and prints what it became.
# Pass --keep to leave it running until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/prepare.sh

exec node --conditions=source --import tsx operator/scripts/sandbox.ts "$@"
