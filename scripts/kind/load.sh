#!/usr/bin/env bash
# `make kind-load`: copies the image IMAGE:VERSION (built by `make image`) into every node of
# the KIND cluster, so pods start it without a registry (the chart's pullPolicy is IfNotPresent).
set -euo pipefail
# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
require_tools docker kind

"${KIND}" get clusters 2>/dev/null | grep -qxF "${KIND_CLUSTER}" ||
  die "kind cluster ${KIND_CLUSTER} not found: run 'make kind-up' first"
"${DOCKER}" image inspect "${IMAGE}:${VERSION}" >/dev/null 2>&1 ||
  die "image ${IMAGE}:${VERSION} not found: run 'make image' first"
"${KIND}" load docker-image "${IMAGE}:${VERSION}" --name "${KIND_CLUSTER}"
log "loaded ${IMAGE}:${VERSION} into ${KIND_CLUSTER}"
