#!/usr/bin/env bash
# Runs the k6 balance-push scenario (loadtest/k6) as a Job in the current
# kubectl context, which must be a kind cluster (context name kind-*), in the
# namespace of a running brand: waits for the Job, prints its logs and exits
# with the Job's result, so a failed k6 threshold fails this script.
#
# Needs kubectl and a kind cluster with a brand deployed; neither exists in the
# project's CI. Environment:
#   K6_NAMESPACE   brand namespace (default brand-alpha, the example Tenant of
#                  `make kind-tenants`); it must contain the
#                  Secret `credentials` (the operator creates it).
#   K6_TIMEOUT_SECONDS  how long to wait for the Job (default 1800).
#   DRY_RUN=1      only validate the manifests with a server-side dry run.
#   PLAYERS, RAMP, HOLD, RATE, RECONNECT_SHARE, RECONNECT_AT, P99_MS, ...
#                  load-shape variables passed to k6 (see loadtest/k6/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."

namespace="${K6_NAMESPACE:-brand-alpha}"
timeout_seconds="${K6_TIMEOUT_SECONDS:-1800}"
if [[ ! "$timeout_seconds" =~ ^[0-9]+$ ]]; then
  echo "loadtest-kind: invalid K6_TIMEOUT_SECONDS '$timeout_seconds'; set it to a whole number of seconds" >&2
  exit 2
fi
job=croupier-k6-balance-push
parameter_names=(PLAYERS RAMP HOLD RATE RECONNECT_SHARE RECONNECT_AT P99_MS CONNECT_ERROR_RATE_MAX BET_ERROR_RATE_MAX
  WALLET_VUS WALLET_MAX_VUS BET_AMOUNT SNAPSHOT_TIMEOUT SETUP_TIMEOUT SETUP_BATCH PLAYER_PREFIX RUN_ID GATEWAY_URL WALLET_URL)

command -v kubectl >/dev/null || { echo "loadtest-kind: kubectl is not installed" >&2; exit 1; }
context="$(kubectl config current-context 2>/dev/null || true)"
if [[ -z "$context" ]]; then
  echo "loadtest-kind: no current kubectl context is set; create the cluster with 'make kind-up' or switch with 'kubectl config use-context kind-NAME'" >&2
  exit 1
fi
if [[ "$context" != kind-* ]]; then
  echo "loadtest-kind: the current kubectl context is '$context', not a kind cluster (kind-*); switch with 'kubectl config use-context kind-NAME'" >&2
  exit 1
fi
if ! kubectl get secret credentials -n "$namespace" >/dev/null 2>&1; then
  echo "loadtest-kind: Secret 'credentials' not found in namespace $namespace; deploy a brand there or apply loadtest/k6/deploy/credentials.example.yaml with its real values" >&2
  exit 1
fi

dry_run_flags=()
if [[ "${DRY_RUN:-0}" == 1 ]]; then dry_run_flags=(--dry-run=server); fi

# Load-shape variables set in this environment go into the optional ConfigMap the Job reads with envFrom.
# The ${array[@]+...} form expands an empty array under set -u in bash before 4.4 too (macOS ships 3.2).
literals=()
for name in "${parameter_names[@]}"; do
  if [[ -n "${!name:-}" ]]; then literals+=("--from-literal=$name=${!name}"); fi
done
kubectl create configmap croupier-k6-parameters -n "$namespace" ${literals[@]+"${literals[@]}"} --dry-run=client -o yaml |
  kubectl apply -n "$namespace" ${dry_run_flags[@]+"${dry_run_flags[@]}"} -f -

# A Job's pod template cannot change, so a new run replaces the previous Job.
if [[ "${DRY_RUN:-0}" != 1 ]]; then kubectl delete job "$job" -n "$namespace" --ignore-not-found --wait=true; fi
kubectl kustomize --load-restrictor=LoadRestrictionsNone loadtest/k6/deploy |
  kubectl apply -n "$namespace" ${dry_run_flags[@]+"${dry_run_flags[@]}"} -f -
if [[ "${DRY_RUN:-0}" == 1 ]]; then
  echo "loadtest-kind: the API server accepted the manifests (dry run, nothing created)"
  exit 0
fi

echo "loadtest-kind: waiting up to ${timeout_seconds} s for job/$job in $namespace"
deadline=$((SECONDS + timeout_seconds))
result=""
while ((SECONDS < deadline)); do
  succeeded="$(kubectl get job "$job" -n "$namespace" -o jsonpath='{.status.succeeded}')"
  failed="$(kubectl get job "$job" -n "$namespace" -o jsonpath='{.status.failed}')"
  if [[ "${succeeded:-0}" -ge 1 ]]; then result=succeeded; break; fi
  if [[ "${failed:-0}" -ge 1 ]]; then result=failed; break; fi
  sleep 5
done

kubectl logs "job/$job" -n "$namespace" --all-containers=true || true
case "$result" in
  succeeded) echo "loadtest-kind: k6 passed every threshold" ;;
  failed) echo "loadtest-kind: the k6 Job failed (a threshold failed or k6 stopped with an error); see the log above" >&2; exit 1 ;;
  *) echo "loadtest-kind: job/$job did not finish within ${timeout_seconds} s" >&2; exit 1 ;;
esac
