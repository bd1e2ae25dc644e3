#!/usr/bin/env bash
# `make kind-load`: copies into every node of the KIND cluster the image IMAGE:VERSION
# (`make image`) and the images the chart's `helm test` and the KIND suite run
# (scripts/image/test-images.sh: a Debian curl image and the load generator), so no Pod ever
# pulls. Their names are written to KIND_STATE_DIR/images.env for deploy.sh and the suite.
# An image a node already has (same id) is not copied again.
set -euo pipefail
# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
require_tools docker kind

"${KIND}" get clusters 2>/dev/null | grep -qxF "${KIND_CLUSTER}" ||
  die "kind cluster ${KIND_CLUSTER} not found: run 'make kind-up' first"
"${DOCKER}" image inspect "${IMAGE}:${VERSION}" >/dev/null 2>&1 ||
  die "image ${IMAGE}:${VERSION} not found: run 'make image' first"

mkdir -p "${KIND_STATE_DIR}"
images_env="${KIND_STATE_DIR}/images.env"
test_images="$("${REPO_ROOT}/scripts/image/test-images.sh")" || die "scripts/image/test-images.sh failed"
printf 'REPLICA_API_IMAGE=%s\n%s\n' "${IMAGE}:${VERSION}" "${test_images}" >"${images_env}.new"
mv "${images_env}.new" "${images_env}"

# node_has <node> <image>: the node's containerd holds exactly this image id.
node_has() {
  local id
  id="$("${DOCKER}" image inspect --format '{{.Id}}' "$2")"
  "${DOCKER}" exec "$1" crictl inspecti -o go-template --template '{{.status.id}}' "$2" 2>/dev/null | grep -qxF "${id}"
}

mapfile -t nodes < <("${KIND}" get nodes --name "${KIND_CLUSTER}")
while IFS='=' read -r _ ref; do
  missing=()
  for node in "${nodes[@]}"; do node_has "${node}" "${ref}" || missing+=("${node}"); done
  if ((${#missing[@]} == 0)); then
    log "${ref}: already on every node"
    continue
  fi
  start=${SECONDS}
  "${KIND}" load docker-image "${ref}" --name "${KIND_CLUSTER}" --nodes "$(IFS=,; echo "${missing[*]}")" >/dev/null
  log "${ref}: loaded into ${missing[*]} in $((SECONDS - start)) s"
done <"${images_env}"
log "images for Pods (never pulled): ${images_env}"
