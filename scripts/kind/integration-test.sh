#!/usr/bin/env bash
# `make integration-test-kind`, after kind-up, image, kind-load and deploy:
#  1. `helm test`: the chart's test pod calls /api/v1/health through the Service with the
#     client certificate (from inside the cluster, verifying the Service DNS name).
#  2. The integration suite against the release, through `kubectl port-forward`:
#       REPLICA_API_URL=https://localhost:<LOCAL_PORT>  REPLICA_API_CERT_DIR=<CERTS_DIR>
#       KUBECONFIG=<a kubeconfig for KUBE_CONTEXT only>  REPLICA_API_NAMESPACE=<release namespace>
#     then `$DENO task test:integration:kind` (DENO is exported by the Makefile).
set -euo pipefail
# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
require_tools kubectl helm
require_context
command -v curl >/dev/null 2>&1 || die "curl not found: install curl"
DENO="${DENO:-deno}"
command -v "${DENO}" >/dev/null 2>&1 || die "deno not found: run through make (make integration-test-kind), which installs it"

ns="${RELEASE_NAMESPACE}"
full="$(fullname)"
hlm status "${RELEASE}" --namespace "${ns}" >/dev/null 2>&1 || die "release ${RELEASE} not found in ${ns}: run 'make deploy' first"

log "helm test ${RELEASE}"
hlm test "${RELEASE}" --namespace "${ns}" --logs --timeout "${DEPLOY_TIMEOUT:-3m}"

# The suite talks to the cluster only through this kubeconfig: the kind context and nothing else.
mkdir -p "${KIND_STATE_DIR}"
kubeconfig="${KIND_STATE_DIR}/kubeconfig"
(umask 077 && "${KUBECTL}" config view --minify --flatten --context "${KUBE_CONTEXT}" >"${kubeconfig}")
KUBECONFIG="${kubeconfig}" "${KUBECTL}" config use-context "${KUBE_CONTEXT}" >/dev/null

port="${LOCAL_PORT:-18443}"
pf_log="${KIND_STATE_DIR}/port-forward.log"
kctl --namespace "${ns}" port-forward "svc/${full}" "${port}:${SERVICE_PORT:-8443}" >"${pf_log}" 2>&1 &
pf_pid=$!
trap 'kill "${pf_pid}" 2>/dev/null || true' EXIT
url="https://localhost:${port}"
curl_mtls=(curl -fsS --max-time 3 --cert "${CERTS_DIR}/client.crt" --key "${CERTS_DIR}/client.key" --cacert "${CERTS_DIR}/ca.crt")
for ((i = 0; ; i++)); do
  kill -0 "${pf_pid}" 2>/dev/null || die "kubectl port-forward exited: $(tail -n 3 "${pf_log}")"
  if "${curl_mtls[@]}" "${url}/api/v1/health" >/dev/null 2>&1; then break; fi
  ((i < 60)) || die "${url}/api/v1/health did not answer 200 within 30 s (port-forward log: ${pf_log})"
  sleep 0.5
done
log "port-forward ready: ${url} -> svc/${full}"

REPLICA_API_URL="${url}" REPLICA_API_CERT_DIR="${CERTS_DIR}" REPLICA_API_NAMESPACE="${ns}" KUBECONFIG="${kubeconfig}" \
  "${DENO}" task test:integration:kind
