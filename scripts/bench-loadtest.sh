#!/usr/bin/env bash
# Runs the one-machine load test (players over worker threads, a wallet driver
# at a fixed rate, a reconnect storm) against the platform and a bare socket.io
# server, and writes docs/loadtest-*.{json,svg} and the loadtest section of
# docs/benchmarks.md. Pass --smoke for a run of seconds, --help for options.
set -euo pipefail
cd "$(dirname "$0")/.."

# Help and redrawing saved results need no servers.
for argument in "$@"; do
  if [[ "$argument" == "--help" || "$argument" == "--render-only" ]]; then
    [[ -d node_modules ]] || npm ci --no-audit --no-fund
    exec node --conditions=source --import tsx loadtest/src/harness/main.ts "$@"
  fi
done

# Reject invalid options before starting any server.
[[ -d node_modules ]] || npm ci --no-audit --no-fund
node --conditions=source --import tsx loadtest/src/harness/main.ts --check "$@"

source scripts/prepare.sh

exec node --conditions=source --import tsx loadtest/src/harness/main.ts "$@"
