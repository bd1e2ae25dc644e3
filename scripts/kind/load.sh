#!/usr/bin/env bash
# `make kind-load`: copies into every node of the KIND cluster the image IMAGE:VERSION
# (`make image`) and the images the chart's `helm test` and the KIND suite run
# (scripts/image/test-images.sh: a Debian curl image and the load generator), so no Pod ever
# pulls. Their names are written to KIND_STATE_DIR/images.env for deploy.sh and the suite.
# An image a node already has (same id) is not copied again.
#   scripts/kind/load.sh [image...]   with arguments: only these images (no images.env)
set -euo pipefail
# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
require_tools docker kind

"${KIND}" get clusters 2>/dev/null | grep -qxF "${KIND_CLUSTER}" ||
  die "kind cluster ${KIND_CLUSTER} not found: run 'make kind-up' first"

mkdir -p "${KIND_STATE_DIR}"
images_env="${KIND_STATE_DIR}/images.env"
if (($# > 0)); then
  images="$(printf 'IMAGE=%s\n' "$@")"
else
  "${DOCKER}" image inspect "${IMAGE}:${VERSION}" >/dev/null 2>&1 ||
    die "image ${IMAGE}:${VERSION} not found: run 'make image' first"
  test_images="$("${REPO_ROOT}/scripts/image/test-images.sh")" || die "scripts/image/test-images.sh failed"
  images="$(printf 'REPLICA_API_IMAGE=%s\n%s\n' "${IMAGE}:${VERSION}" "${test_images}")"
  printf '%s\n' "${images}" >"${images_env}.new"
  mv "${images_env}.new" "${images_env}"
fi

# node_has <node> <image>: the node's containerd holds exactly this image id.
node_has() {
  local id
  id="$("${DOCKER}" image inspect --format '{{.Id}}' "$2")" || die "image $2 not found in Docker"
  "${DOCKER}" exec "$1" crictl inspecti -o go-template --template '{{.status.id}}' "$2" 2>/dev/null | grep -qxF "${id}"
}

if (($# > 0)); then
  mapfile -t nodes < <("${KIND}" get nodes --name "${KIND_CLUSTER}")
else
  # The release and the suite's Pods run on nodes that take workloads: not on a NoSchedule control plane.
  # shellcheck disable=SC2016  # a go-template, not shell
  mapfile -t nodes < <(kctl get nodes -o go-template='{{range .items}}{{$n := .metadata.name}}{{$skip := false}}{{range .spec.taints}}{{if eq .effect "NoSchedule"}}{{$skip = true}}{{end}}{{end}}{{if not $skip}}{{$n}}{{"\n"}}{{end}}{{end}}')
  ((${#nodes[@]} > 0)) || die "no node of ${KIND_CLUSTER} takes workloads"
fi
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
done <<<"${images}"
(($# > 0)) || log "images for Pods (never pulled): ${images_env}"
