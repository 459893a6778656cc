#!/usr/bin/env bash
# Builds helm and kubeconform from the Go module proxy and caches them, like
# operator/testenv/build.sh does for the API server. A fresh machine spends a
# few minutes here; later calls reuse the cache and return at once.
# Prints the directory that contains the binaries.
set -euo pipefail
cd "$(dirname "$0")"

# Go needs a home for its module and build caches; a stripped CI environment may not set one.
export HOME="${HOME:-$(getent passwd "$(id -u)" | cut -d: -f6)}"

# The cache key hashes go.sum and this script, so a version bump or a new build flag builds anew.
cache_key="$(cat go.sum build.sh | sha256sum | cut -c1-16)"
bin_dir="${CROUPIER_CHART_TOOLS_BIN_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/croupier/chart-tools/$cache_key}"

if [[ -x "$bin_dir/helm" && -x "$bin_dir/kubeconform" ]]; then
  echo "$bin_dir"
  exit 0
fi

command -v go >/dev/null || { echo "chart-tools: go is not installed; the chart checks need it to build helm and kubeconform" >&2; exit 1; }
mkdir -p "$bin_dir"
echo "chart-tools: building kubeconform into $bin_dir" >&2
go build -o "$bin_dir/kubeconform.partial" -ldflags "-X main.version=v0.8.0" github.com/yannh/kubeconform/cmd/kubeconform
echo "chart-tools: building helm into $bin_dir (a few minutes on a fresh machine)" >&2
# A module build has no git metadata, so stamp the release go.mod pins; `helm version` prints it.
go build -o "$bin_dir/helm.partial" \
  -ldflags "-X helm.sh/helm/v4/internal/version.version=v4.3.2" \
  helm.sh/helm/v4/cmd/helm

# Rename only complete builds, so an interrupted run never leaves a binary the check above trusts.
mv "$bin_dir/kubeconform.partial" "$bin_dir/kubeconform"
mv "$bin_dir/helm.partial" "$bin_dir/helm"
echo "$bin_dir"
