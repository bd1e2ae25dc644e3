#!/usr/bin/env bash
# `make integration-test-kind`, after kind-up, kind-load and deploy: the KIND suite (tests/kind,
# `deno task test:integration:kind`) against the release. Arguments go to that `deno test`, e.g.
# `--filter "rolling upgrade"` (what `make kind-upgrade-test` runs). The suite talks to the
# cluster only through a kubeconfig that holds the KIND context alone, and reads:
#
#   REPLICA_API_REPO, REPLICA_API_NAMESPACE, REPLICA_API_RELEASE, REPLICA_API_FULLNAME, REPLICA_API_CHART
#   REPLICA_API_CERT_DIR   the dev PKI deploy.sh installed (certs/)
#   KUBECONFIG, KUBECTL, HELM
#   TOOLS_IMAGE, TOOLS_IMAGE_NEXT, LOADGEN_IMAGE   the images kind-load loaded (KIND_STATE_DIR/images.env)
set -euo pipefail
# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
require_tools kubectl helm
require_context
command -v curl >/dev/null 2>&1 || die "curl not found: install curl (the suite runs the README's curl commands)"
DENO="${DENO:-deno}"
command -v "${DENO}" >/dev/null 2>&1 || die "deno not found: run through make (make integration-test-kind), which installs it"

ns="${RELEASE_NAMESPACE}"
hlm status "${RELEASE}" --namespace "${ns}" >/dev/null 2>&1 || die "release ${RELEASE} not found in ${ns}: run 'make deploy' first"
images_env="${KIND_STATE_DIR}/images.env"
[[ -f "${images_env}" ]] || die "${images_env} not found: run 'make kind-load' first"

kubeconfig="$(kind_kubeconfig)"

set -a
# shellcheck disable=SC1090  # written by load.sh
source "${images_env}"
set +a
log "KIND suite against ${RELEASE} in ${ns} on ${KUBE_CONTEXT}"
REPLICA_API_REPO="${REPO_ROOT}" REPLICA_API_NAMESPACE="${ns}" REPLICA_API_RELEASE="${RELEASE}" \
  REPLICA_API_FULLNAME="$(fullname)" REPLICA_API_CHART="${CHART_DIR}" REPLICA_API_CERT_DIR="${CERTS_DIR}" \
  KUBECONFIG="${kubeconfig}" KUBECTL="${KUBECTL}" HELM="${HELM}" DOCKER="${DOCKER}" \
  "${DENO}" task --quiet --cwd "${REPO_ROOT}" test:integration:kind "$@"
