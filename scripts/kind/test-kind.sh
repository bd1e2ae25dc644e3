#!/usr/bin/env bash
# `make test-kind` (part of `make test`): the whole KIND path, the way a user runs it, then
# everything it started is taken down again:
#   engine up -> kind-up -> image -> kind-load -> deploy -> KIND suite -> KIND browser scenario -> undeploy
#   -> kind-down -> engine down
# The browser scenario (scripts/kind/browser-test.sh) runs only where scripts/chromium.sh finds or installs
# Chromium; otherwise it prints "SKIP: ..." and the run goes on.
# It skips (prints "SKIP: ..." and exits 0) only when no container engine is usable or
# installable: no Docker answers, and this is not a Debian host where root can install one.
# KIND_KEEP=1 keeps the release, the cluster and the engine for another run.
set -euo pipefail
# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
LOG_PREFIX=test-kind
cd "${REPO_ROOT}"

if why="$(kind_skip_reason)"; then
  echo "SKIP: KIND suite skipped: ${why}"
  exit 0
fi

started=${SECONDS}
phase() { log "$1 (at $((SECONDS - started)) s)"; }
teardown() {
  local rc=$?
  if [[ "${KIND_KEEP:-0}" != 1 ]]; then
    phase "teardown"
    scripts/kind/undeploy.sh >&2 || true
    # down.sh also runs engine.sh down: dockerd stops if this run started it, rules and sysctls restored.
    scripts/kind/down.sh >&2 || true
  fi
  log "took $((SECONDS - started)) s"
  exit "${rc}"
}
trap teardown EXIT

phase "engine"
scripts/kind/engine.sh up >&2
phase "cluster"
scripts/kind/up.sh >&2
phase "image"
scripts/image/build.sh >&2
phase "load"
scripts/kind/load.sh >&2
phase "deploy"
scripts/kind/deploy.sh >&2
phase "suite"
scripts/kind/integration-test.sh
phase "browser"
scripts/kind/browser-test.sh
