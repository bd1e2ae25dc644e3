#!/usr/bin/env bash
# `make kind-prepare`: everything the KIND path builds before it needs a cluster, so that `make test` can build it
# in the background while the other suites run (scripts/test.sh) and `make test-kind` then finds it all cached:
#   the engine, the pinned kind CLI, the node image, the image IMAGE:VERSION, the suite's curl and load
#   generator images.
# Each step is the script test-kind runs later (idempotent, cached by its inputs). Nothing here creates a cluster,
# loads or deploys anything. Skips (exit 0, one line) where test-kind skips: no Docker answers, and no root with
# apt-get to install one. On a cold machine most of this is Go builds and debootstraps; started at the lowest CPU
# and I/O priority, they use what the suites in the foreground leave idle.
set -euo pipefail
# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
LOG_PREFIX=kind-prepare
cd "${REPO_ROOT}"

if why="$(kind_skip_reason)"; then
  echo "SKIP: kind-prepare: ${why}"
  exit 0
fi

started=${SECONDS}
step() {
  local name="$1" t0=${SECONDS}
  shift
  "$@" || die "${name} failed (exit $?)"
  log "${name} ready in $((SECONDS - t0)) s"
}
step engine scripts/kind/engine.sh up
step "kind CLI" scripts/kind/kind.sh >/dev/null
step "node image" scripts/kind/node-image.sh >/dev/null
step "image ${IMAGE}:${VERSION}" scripts/image/build.sh >&2
step "the suite's curl and load generator images" scripts/image/test-images.sh >/dev/null
log "done in $((SECONDS - started)) s"
