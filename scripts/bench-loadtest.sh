#!/usr/bin/env bash
# Runs the one-machine load test (players over worker threads, a wallet driver
# at a fixed rate, a reconnect storm) against the platform and a bare socket.io
# server, and writes docs/loadtest-*.{json,svg} and the loadtest section of
# docs/benchmarks.md. Pass --smoke for a run of seconds, --help for options.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/prepare.sh

exec node --conditions=source --import tsx loadtest/src/harness/main.ts "$@"
