#!/usr/bin/env bash
# Runs the whole test suite against real PostgreSQL, RabbitMQ and Redis:
# installs dependencies, starts the infrastructure, type-checks, lints, then
# runs every test file one at a time, since some tests restart the brokers.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/prepare.sh
# The back office tests drive a real headless Chromium.
scripts/infra.sh install-browser

npx tsc -b
npx eslint .

mapfile -t test_files < <(find services loadtest operator charts images -path '*/node_modules' -prune -o -name '*.test.ts' -print | sort)
if [[ "$#" -gt 0 ]]; then
  test_files=("$@")
fi

node --conditions=source --import tsx --test --test-concurrency=1 --test-reporter=spec "${test_files[@]}"
