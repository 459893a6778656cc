#!/usr/bin/env bash
# Builds the dockerfile-check tool from the Go module proxy and caches the
# binary, keyed by the hash of its sources and this script, so only a change
# rebuilds it.
# Prints the path of the binary.
set -euo pipefail
cd "$(dirname "$0")"

# Go needs a home for its module and build caches; a stripped CI environment may not set one.
export HOME="${HOME:-$(getent passwd "$(id -u)" | cut -d: -f6)}"

cache_key="$(cat go.mod go.sum ./*.go build.sh | sha256sum | cut -c1-16)"
bin_dir="${CROUPIER_DOCKERFILE_CHECK_BIN_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/croupier/dockerfile-check/$cache_key}"
binary="$bin_dir/dockerfile-check"

if [[ -x "$binary" ]]; then
  echo "$binary"
  exit 0
fi

command -v go >/dev/null || { echo "dockerfile-check: go is not installed; the image checks need it to build this tool" >&2; exit 1; }
mkdir -p "$bin_dir"
echo "dockerfile-check: building into $bin_dir" >&2
go build -o "$binary.partial" .
# Rename only a complete build, so an interrupted run never leaves a binary the check above trusts.
mv "$binary.partial" "$binary"
echo "$binary"
