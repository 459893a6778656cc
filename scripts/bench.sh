#!/usr/bin/env bash
# Runs the benchmarks and rewrites docs/benchmarks.md with the results.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/prepare.sh

exec node --conditions=source --import tsx loadtest/src/bench/main.ts "$@"
