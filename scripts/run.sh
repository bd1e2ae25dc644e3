#!/usr/bin/env bash
# `make run`: serve the API against a reachable cluster, or, when none is configured or reachable, against the
# local control plane (tests/cluster/up.sh) seeded with sample Deployments. Installs jemalloc first where it can
# (scripts/jemalloc.sh ensure). Extra settings come from the
# environment (see README: Configuration); TLS defaults to the dev PKI from `make certs`.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${DENO:?run through make (it sets DENO)}"

export TLS_CERT_FILE="${TLS_CERT_FILE:-certs/server.crt}"
export TLS_KEY_FILE="${TLS_KEY_FILE:-certs/server.key}"
export TLS_CLIENT_CA_FILE="${TLS_CLIENT_CA_FILE:-certs/ca.crt}"
# A development server offers every operation (the service's own default, and the chart's, is scale only).
export OPERATIONS="${OPERATIONS:-scale,restart,pause,undo,image}"

# jemalloc decides how much memory the service keeps after load: installed here when root on Debian, else one line
# on how to get it (deno task start preloads it when present).
scripts/jemalloc.sh ensure

reachable() {
  command -v kubectl >/dev/null || return 1
  kubectl ${KUBECONFIG:+--kubeconfig "$KUBECONFIG"} get --raw /readyz --request-timeout=3s >/dev/null 2>&1
}

if [[ -n "${KUBECONFIG:-}" || -f "${HOME}/.kube/config" ]] && reachable; then
  echo "run: using the cluster from ${KUBECONFIG:-~/.kube/config} ($(kubectl config current-context 2>/dev/null || echo '?'))" >&2
else
  echo "run: no reachable cluster configured; starting the local control plane (first run builds it from Go modules)" >&2
  tests/cluster/up.sh
  # shellcheck disable=SC1091
  source .cache/cluster/cluster.env
  export KUBECONFIG
  command -v kubectl >/dev/null || { echo "run: kubectl is required to create the sample Deployments" >&2; exit 1; }
  kubectl apply -f scripts/sample-deployments.yaml >/dev/null
  echo "run: sample Deployments in namespaces demo and payments; stop the control plane with: make cluster-down" >&2
fi

cat >&2 <<MSG
run: try it:
  curl -sS --cert certs/client.crt --key certs/client.key --cacert certs/ca.crt https://localhost:8443/api/v1/deployments
  bin/replica-api list
MSG
exec "$DENO" task start "$@"
