#!/usr/bin/env bash
# Builds the kube-apiserver and etcd binaries the operator's tests run, from
# the Go module proxy, and caches them. The first build on a fresh machine
# takes several minutes; later calls reuse the cache and return at once.
# Prints the directory that contains the binaries.
set -euo pipefail
cd "$(dirname "$0")"

# Go needs a home for its module and build caches; a stripped CI environment may not set one.
export HOME="${HOME:-$(getent passwd "$(id -u)" | cut -d: -f6)}"

# The cache key is the hash of go.sum, so a version bump builds anew.
cache_key="$(sha256sum go.sum | cut -c1-16)"
bin_dir="${CROUPIER_TESTENV_BIN_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/croupier/testenv/$cache_key}"

if [[ -x "$bin_dir/kube-apiserver" && -x "$bin_dir/etcd" ]]; then
  echo "$bin_dir"
  exit 0
fi

command -v go >/dev/null || { echo "testenv: go is not installed; the operator tests need it to build kube-apiserver and etcd" >&2; exit 1; }
mkdir -p "$bin_dir"
echo "testenv: building etcd into $bin_dir" >&2
go build -o "$bin_dir/etcd.partial" ./cmd/etcd
echo "testenv: building kube-apiserver into $bin_dir (several minutes on a fresh machine)" >&2
# A module build has no git metadata, so stamp the release the go.mod pins; clients read it from /version.
version_package=k8s.io/component-base/version
go build -o "$bin_dir/kube-apiserver.partial" \
  -ldflags "-X $version_package.gitVersion=v1.37.2 -X $version_package.gitMajor=1 -X $version_package.gitMinor=37" \
  k8s.io/kubernetes/cmd/kube-apiserver

# Rename only complete builds, so an interrupted run never leaves a binary the check above trusts.
mv "$bin_dir/etcd.partial" "$bin_dir/etcd"
mv "$bin_dir/kube-apiserver.partial" "$bin_dir/kube-apiserver"
echo "$bin_dir"
