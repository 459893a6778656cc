#!/usr/bin/env bash
# Runs the two-brand demo: installs dependencies when missing, starts the
# infrastructure on loopback, then runs wallets, gateways and simulated players.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ ! -d node_modules ]]; then
  npm ci --no-audit --no-fund
fi

# Help needs no servers.
for argument in "$@"; do
  if [[ "$argument" == "--help" ]]; then
    exec node --conditions=source --import tsx loadtest/src/demo.ts --help
  fi
done

scripts/infra.sh up
eval "$(scripts/infra.sh env)"

exec node --conditions=source --import tsx loadtest/src/demo.ts "$@"
