#!/usr/bin/env bash
# Measures event-to-intervention latency of the rules engine at a fixed event
# rate and rewrites the rules section of docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/prepare.sh

exec node --conditions=source --import tsx loadtest/src/bench/interventions.ts "$@"
