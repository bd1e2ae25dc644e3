#!/usr/bin/env bash
# Checks the tools of the KIND workflow. Usage:
#   preflight.sh [--suite] tool...
# Prints one line naming a missing tool and how to install it, and exits 1. With --suite
# (used by `make integration-test-kind`), it first runs engine.sh up and kind.sh; a Docker or kind
# still missing after that is not an error but a skip:
# it prints "SKIP: ..." with the same message and exits 2. Any other missing tool still fails.
set -euo pipefail
# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

suite=0
if [[ "${1:-}" == --suite ]]; then suite=1; shift; fi
# The suite provisions what it can first: Docker (engine.sh: the running one, or Debian's started
# as root) and the pinned kind; it skips only when that is impossible here.
if ((suite)); then
  "${KIND_SCRIPTS_DIR}/engine.sh" up >&2 || log "no usable container engine (engine.sh up failed)"
  "${KIND_SCRIPTS_DIR}/kind.sh" >/dev/null || log "the pinned kind could not be built"
fi
for tool in "$@"; do
  why="$(missing_tool "${tool}")"
  [[ -n "${why}" ]] || continue
  if ((suite)) && [[ "${tool}" == docker || "${tool}" == kind ]]; then
    echo "SKIP: KIND integration suite skipped: ${why}"
    exit 2
  fi
  die "${why}"
done
