#!/usr/bin/env bash
# `make browser-test-kind` (and `make test-kind`, after the KIND suite), with a deployed release: the browser
# scenario through kubectl port-forward (tests/browser/kind_port_forward_test.ts): the release's console in headless
# Chromium with the dev client certificate, a scale through its dialog, kubectl checking the result. Chromium comes
# from scripts/chromium.sh (Debian's package as root on Debian); without it this prints "SKIP: ..." and exits 0.
# The scenario reads:
#
#   KIND_KUBECONFIG        a kubeconfig holding the KIND context alone (kind_kubeconfig)
#   TOOLS_IMAGE            the preloaded image of its workload's Pods (KIND_STATE_DIR/images.env)
#   REPLICA_API_NAMESPACE, REPLICA_API_FULLNAME, REPLICA_API_CERT_DIR, KUBECTL, CHROMIUM
#   DENO_CERT              the dev CA: Playwright's relay (in Deno) verifies the release's certificate against it
#   KIND_BROWSER_REQUIRED=1   so an unreachable release fails instead of skipping
set -euo pipefail
# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
LOG_PREFIX=kind-browser
require_tools kubectl helm
require_context
DENO="${DENO:-deno}"
command -v "${DENO}" >/dev/null 2>&1 || die "deno not found: run through make (make browser-test-kind), which installs it"
CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"

rc=0
why="$("${REPO_ROOT}/scripts/chromium.sh")" || rc=$?
if [[ "${rc}" == 3 ]]; then
  echo "${why/#SKIP: /SKIP: KIND browser scenario: }"
  exit 0
elif [[ "${rc}" != 0 ]]; then
  die "installing chromium failed (exit ${rc})"
fi

ns="${RELEASE_NAMESPACE}"
hlm status "${RELEASE}" --namespace "${ns}" >/dev/null 2>&1 || die "release ${RELEASE} not found in ${ns}: run 'make deploy' first"
images_env="${KIND_STATE_DIR}/images.env"
[[ -f "${images_env}" ]] || die "${images_env} not found: run 'make kind-load' first"
tools_image="$(sed -n 's/^TOOLS_IMAGE=//p' "${images_env}")"
[[ -n "${tools_image}" ]] || die "${images_env} names no TOOLS_IMAGE: run 'make kind-load' again"

kubeconfig="$(kind_kubeconfig)"
log "console of ${RELEASE} in ${ns} on ${KUBE_CONTEXT} through kubectl port-forward, in $("${CHROMIUM}" --version 2>/dev/null || echo "${CHROMIUM}")"
cd "${REPO_ROOT}"
DENO_CERT="${CERTS_DIR}/ca.crt" KIND_KUBECONFIG="${kubeconfig}" KIND_BROWSER_REQUIRED=1 TOOLS_IMAGE="${tools_image}" KUBECTL="${KUBECTL}" CHROMIUM="${CHROMIUM}" \
  REPLICA_API_NAMESPACE="${ns}" REPLICA_API_FULLNAME="$(fullname)" REPLICA_API_CERT_DIR="${CERTS_DIR}" \
  "${DENO}" test --allow-all --config tests/browser/deno.json --frozen tests/browser/kind_port_forward_test.ts "$@"
