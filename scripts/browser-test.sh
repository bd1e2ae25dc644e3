#!/usr/bin/env bash
# `make test-browser`: the console's real-browser suite (tests/browser/). Installs Debian's chromium when it is
# missing and this is root on Debian (apt-get; never a browser download: `npx playwright install` cannot work here),
# otherwise skips with the reason, like the KIND suite. playwright-core and axe-core are npm packages pinned in
# deno.json/deno.lock (make deps). Starts the local control plane when it is not running and stops it again only if
# it started it (KEEP_CLUSTER=1 keeps it). Prints the suite's own summary.
#   CHROMIUM=/path/to/chromium   use another Chromium build (default /usr/bin/chromium)
#   BROWSER_SUITE_FILTER=text    only the scenarios whose name contains text (deno test --filter)
set -euo pipefail
cd "$(dirname "$0")/.."
: "${DENO:?run through make (it sets DENO)}"
CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"

rc=0
why="$(scripts/chromium.sh)" || rc=$?
if [[ "${rc}" == 3 ]]; then
  echo "${why/#SKIP: /SKIP: browser suite: }"
  exit 0
elif [[ "${rc}" != 0 ]]; then
  echo "browser: installing chromium failed (exit ${rc})" >&2
  exit "${rc}"
fi
"${CHROMIUM}" --version >&2 2>/dev/null || true

started=0
if ! tests/cluster/ctl.sh status kube-apiserver >/dev/null 2>&1; then
  started=1
fi
start=$(date +%s)
tests/cluster/up.sh
echo "browser: control plane ready after $(($(date +%s) - start)) s" >&2
stop_cluster() {
  if [[ "${started}" == 1 && "${KEEP_CLUSTER:-0}" != 1 ]]; then tests/cluster/down.sh || true; fi
}
trap stop_cluster EXIT
args=()
[[ -n "${BROWSER_SUITE_FILTER:-}" ]] && args+=(--filter "${BROWSER_SUITE_FILTER}")
CHROMIUM="${CHROMIUM}" "$DENO" task test:browser "${args[@]}" "$@"
