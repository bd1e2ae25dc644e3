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
# A failed lane ends the script; the others must not outlive it.
# shellcheck disable=SC2046  # one pid per word
trap 'kill $(jobs -p) 2>/dev/null || true' EXIT
# Three lanes side by side: the node image is the long one (Go builds, debootstraps); the kind CLI and the images
# (a debootstrap, a docker build) do not need it, and one after another they kept it waiting 4 min on a cold run.
step "kind CLI" scripts/kind/kind.sh >/dev/null &
kind_cli=$!
{
  step "image ${IMAGE}:${VERSION}" scripts/image/build.sh >&2
  step "the suite's curl and load generator images" scripts/image/test-images.sh >/dev/null
} &
images=$!
step "node image" scripts/kind/node-image.sh >/dev/null
wait "${kind_cli}" || die "the kind CLI could not be built"
wait "${images}" || die "the images could not be built"
log "done in $((SECONDS - started)) s"
