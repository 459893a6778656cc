#!/usr/bin/env bash
# Runs the benchmarks and rewrites docs/benchmarks.md with the results.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ ! -d node_modules ]]; then
  npm ci --no-audit --no-fund
fi

scripts/infra.sh up
eval "$(scripts/infra.sh env)"

exec node --conditions=source --import tsx loadtest/src/bench/main.ts "$@"
