#!/usr/bin/env bash
# `make deploy`: installs or upgrades the chart as RELEASE in RELEASE_NAMESPACE on KUBE_CONTEXT.
#  1. certs/gen.sh (what `make certs` runs) refreshes the dev PKI in CERTS_DIR; the server
#     certificate gets the Service's DNS names (SERVER_SANS) so in-cluster clients can verify it.
#  2. The Secret <RELEASE>-client-tls (tls.crt, tls.key, ca.crt from the dev client certificate)
#     is created for `helm test` and the upgrade-under-load scenario.
#  3. helm upgrade --install with the server certificate, key and CA as values (the chart
#     makes the TLS Secret; its checksum rolls the pods when the certificate changes), then
#     waits for the rollout (DEPLOY_WAIT=0 skips the wait, e.g. on a cluster without nodes).
#     When `make kind-load` loaded a curl image (KIND_STATE_DIR/images.env), `helm test` runs
#     that one, with pullPolicy Never: in KIND no Pod pulls. Every operation is enabled
#     (operations), and the policy limits the images O=sre may set to that tools repository.
# Extra helm arguments: HELM_ARGS="--set watchNamespaces={a,b}".
set -euo pipefail
# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
require_tools kubectl helm
require_context

full="$(fullname)"
svc_sans="DNS:${full}.${RELEASE_NAMESPACE}.svc,DNS:${full}.${RELEASE_NAMESPACE}.svc.cluster.local,DNS:${full}.${RELEASE_NAMESPACE},DNS:${full}"
SERVER_SANS="${svc_sans}${SERVER_SANS:+,${SERVER_SANS}}" "${REPO_ROOT}/certs/gen.sh" "${CERTS_DIR}"

# A namespace this script creates is labelled, so undeploy.sh deletes only namespaces it owns.
if ! kctl get namespace "${RELEASE_NAMESPACE}" >/dev/null 2>&1; then
  kctl create namespace "${RELEASE_NAMESPACE}" >/dev/null
  kctl label namespace "${RELEASE_NAMESPACE}" replica-api.dev/created-by=deploy >/dev/null
  log "created namespace ${RELEASE_NAMESPACE}"
fi
client_secret="${RELEASE}-client-tls"
kctl -n "${RELEASE_NAMESPACE}" create secret generic "${client_secret}" \
  --from-file=tls.crt="${CERTS_DIR}/client.crt" --from-file=tls.key="${CERTS_DIR}/client.key" \
  --from-file=ca.crt="${CERTS_DIR}/ca.crt" --dry-run=client -o yaml | kctl apply -f - >/dev/null
log "client certificate Secret ${RELEASE_NAMESPACE}/${client_secret} is current"

args=(upgrade --install "${RELEASE}" "${CHART_DIR}" --namespace "${RELEASE_NAMESPACE}"
  --set-string "image.repository=${IMAGE}" --set-string "image.tag=${VERSION}"
  --set-file "tls.cert=${CERTS_DIR}/server.crt" --set-file "tls.key=${CERTS_DIR}/server.key"
  --set-file "tls.ca=${CERTS_DIR}/ca.crt" --set-string "tests.clientCertSecret=${client_secret}")
images_env="${KIND_STATE_DIR}/images.env"
# The workload image of the KIND suite: what `make kind-load` loaded (its tools image), else the name
# scripts/image/bases.sh gives it. The suite sets a workload's image to a second tag of that repository.
tools_repo="${BASE_IMAGE_PREFIX:-localhost/replica-api-base}/tools"
if [[ -f "${images_env}" ]] && tools_image="$(sed -n 's/^TOOLS_IMAGE=//p' "${images_env}")" && [[ -n "${tools_image}" ]]; then
  tools_repo="${tools_image%:*}"
  args+=(--set-string "tests.image.repository=${tools_repo}" --set-string "tests.image.tag=${tools_image##*:}"
    --set-string "tests.image.pullPolicy=Never")
fi
# Every operation, so the KIND suite can prove each against real Pods (the chart's default is [scale] alone).
# --set-json: helm applies --set after every --set-json, so HELM_ARGS can still narrow it either way.
args+=(--set-json 'operations=["scale","restart","pause","undo","image"]')
# A policy, as a real release has one. The dev PKI's O=sre may do everything everywhere, but set only images of the
# preloaded tools repository (any tag: "<repo>:*"; another repository, or a name that merely starts like it, is
# refused), since no Pod in KIND pulls. O=deployers (a certificate from certs/clients.sh, e.g. CN=kind-deployer
# O=deployers) may read and set images of registry.internal/* only: the suite's 403 for an image outside the
# allowed patterns. The KIND suite also changes the policy in place (the ConfigMap) to prove a policy change
# reaches every Pod without a restart.
policy="$(printf '{"rules":[%s,%s]}' \
  '{"subjects":[{"group":"sre"}],"permissions":{"read":["*"],"scale":["*"],"restart":["*"],"pause":["*"],"undo":["*"],"image":["*"]},"images":["'"${tools_repo}"':*"]}' \
  '{"subjects":[{"group":"deployers"}],"permissions":{"read":["*"],"image":["*"]},"images":["registry.internal/*"]}')"
args+=(--set-json "authz.policy=${policy}")
log "operations: all five; policy: O=sre everything, images ${tools_repo}:*; O=deployers read + images registry.internal/*"
# A rebuilt image keeps its tag: pass its id so the pods roll when the content changed.
if image_id="$("${DOCKER}" image inspect --format '{{.Id}}' "${IMAGE}:${VERSION}" 2>/dev/null)"; then
  args+=(--set-string "podAnnotations.replica-api/image-id=${image_id#sha256:}")
fi
if [[ "${DEPLOY_WAIT:-1}" == 1 ]]; then
  args+=(--wait --timeout "${DEPLOY_TIMEOUT:-5m}")
fi
# shellcheck disable=SC2206  # HELM_ARGS is a list of words on purpose
args+=(${HELM_ARGS:-})
log "helm ${args[*]}"
hlm "${args[@]}"
log "deployed ${RELEASE} (${IMAGE}:${VERSION}) in ${RELEASE_NAMESPACE} on ${KUBE_CONTEXT}"
