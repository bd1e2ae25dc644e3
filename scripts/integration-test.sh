#!/usr/bin/env bash
# `make test-integration`: start the local control plane when it is not running (building it on first use),
# run the integration suite against it, and stop it again only if this script started it
# (KEEP_CLUSTER=1 keeps it for reruns). Prints the suite's own summary.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${DENO:?run through make (it sets DENO)}"

started=0
if ! tests/cluster/ctl.sh status kube-apiserver >/dev/null 2>&1; then
  started=1
fi
start=$(date +%s)
tests/cluster/up.sh
echo "integration: control plane ready after $(( $(date +%s) - start )) s" >&2
stop_cluster() {
  if [[ "${started}" == 1 && "${KEEP_CLUSTER:-0}" != 1 ]]; then tests/cluster/down.sh || true; fi
}
trap stop_cluster EXIT
"$DENO" task test:integration "$@"
