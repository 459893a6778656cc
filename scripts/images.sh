#!/usr/bin/env bash
# Builds the four Croupier images from the root Dockerfile and, with --kind,
# loads them into a kind cluster. Needs docker (or podman, through
# CONTAINER_ENGINE=podman) and, for --kind, the kind CLI.
#
#   scripts/images.sh                      # build ghcr.io/croupier/<image>:<version>
#   scripts/images.sh --kind               # build, then kind load docker-image into cluster "croupier"
#   VERSION=0.2.0-rc.1 scripts/images.sh   # another tag
# Also read: IMAGE_REGISTRY, KIND (the kind command) and KIND_CLUSTER.
#
# The version defaults to the root package.json's; the tag is never latest.
set -euo pipefail
cd "$(dirname "$0")/.."

images=(wallet rules push-gateway operator)
engine="${CONTAINER_ENGINE:-docker}"
registry="${IMAGE_REGISTRY:-ghcr.io/croupier}"
version="${VERSION:-$(node -p 'require("./package.json").version')}"
kind_cluster="${KIND_CLUSTER:-croupier}"
# KIND may be a command line, such as the Makefile's `go run sigs.k8s.io/kind@<version>`.
read -r -a kind_command <<< "${KIND:-kind}"
load_into_kind=false

for argument in "$@"; do
  case "$argument" in
    --kind) load_into_kind=true ;;
    -h | --help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "images.sh: unknown argument $argument; see --help" >&2; exit 2 ;;
  esac
done

if [[ -z "$version" || "$version" == "latest" ]]; then
  echo "images.sh: invalid version '$version'; set VERSION to a release such as 0.1.0" >&2
  exit 2
fi
command -v "$engine" >/dev/null || { echo "images.sh: $engine not found; install it or set CONTAINER_ENGINE" >&2; exit 1; }
"$engine" info >/dev/null 2>&1 || { echo "images.sh: $engine is installed but its daemon or service does not respond ($engine info failed); start it and retry" >&2; exit 1; }
if [[ "$load_into_kind" == true ]]; then
  command -v "${kind_command[0]}" >/dev/null || { echo "images.sh: ${kind_command[0]} not found; install kind or set KIND" >&2; exit 1; }
fi

revision="$(git rev-parse HEAD 2>/dev/null || echo unknown)"
if [[ -n "$(git status --porcelain 2>/dev/null)" ]]; then revision="$revision-dirty"; fi
created="$(date -u +%Y-%m-%dT%H:%M:%SZ)"

for image in "${images[@]}"; do
  reference="$registry/$image:$version"
  echo "images.sh: building $reference" >&2
  # With BuildKit (the default builder since Docker 23) the shared stages build once and are reused for each target.
  "$engine" build \
    --target "$image" \
    --build-arg "VERSION=$version" \
    --build-arg "REVISION=$revision" \
    --build-arg "CREATED=$created" \
    --tag "$reference" \
    --file Dockerfile .
done

if [[ "$load_into_kind" == true ]]; then
  for image in "${images[@]}"; do
    echo "images.sh: loading $registry/$image:$version into kind cluster $kind_cluster" >&2
    if [[ "$engine" == podman ]]; then
      # kind load docker-image reads from a docker daemon, so with podman the image goes through an archive.
      # mktemp -d works with both GNU and BSD mktemp, unlike --suffix.
      archive_dir="$(mktemp -d)"
      podman save --output "$archive_dir/image.tar" "$registry/$image:$version"
      "${kind_command[@]}" load image-archive "$archive_dir/image.tar" --name "$kind_cluster"
      rm -rf "$archive_dir"
    else
      "${kind_command[@]}" load docker-image "$registry/$image:$version" --name "$kind_cluster"
    fi
  done
fi
