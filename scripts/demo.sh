#!/usr/bin/env bash
# Runs the two-brand demo: installs dependencies when missing, starts the
# infrastructure on loopback, then runs wallets, gateways and simulated players.
set -euo pipefail
cd "$(dirname "$0")/.."

# Help needs no servers.
for argument in "$@"; do
  if [[ "$argument" == "--help" ]]; then
    [[ -d node_modules ]] || npm ci --no-audit --no-fund
    exec node --conditions=source --import tsx loadtest/src/demo.ts --help
  fi
done

source scripts/prepare.sh
exec node --conditions=source --import tsx loadtest/src/demo.ts "$@"
