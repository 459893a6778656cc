# Sourced by the entry scripts: installs the npm dependencies when missing,
# starts the infrastructure on loopback and exports its connection settings.
# The caller has already changed to the repository root.

if [[ ! -d node_modules ]]; then
  npm ci --no-audit --no-fund
fi

scripts/infra.sh up
eval "$(scripts/infra.sh env)"
