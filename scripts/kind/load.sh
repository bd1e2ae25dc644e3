#!/usr/bin/env bash
# `make kind-load`: copies images from Docker into every node of the KIND cluster, so pods start
# them without a registry (use imagePullPolicy IfNotPresent or Never). Usage:
#   scripts/kind/load.sh [image...]     (default: IMAGE:VERSION, built by `make image`)
set -euo pipefail
# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
require_tools docker kind

"${KIND}" get clusters 2>/dev/null | grep -qxF "${KIND_CLUSTER}" ||
  die "kind cluster ${KIND_CLUSTER} not found: run 'make kind-up' first"
(($# > 0)) || set -- "${IMAGE}:${VERSION}"
for image in "$@"; do
  "${DOCKER}" image inspect "${image}" >/dev/null 2>&1 ||
    die "image ${image} not found in Docker$([[ "${image}" != "${IMAGE}:${VERSION}" ]] || echo ": run 'make image' first")"
done
"${KIND}" load docker-image "$@" --name "${KIND_CLUSTER}"
log "loaded $* into ${KIND_CLUSTER}"
