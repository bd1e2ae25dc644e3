#!/usr/bin/env bash
# The images the KIND suite runs next to replica-api, built without any registry. Prints
# "NAME=<ref>" lines (the caller evals or saves them):
#
#   TOOLS_IMAGE    a shell, coreutils and Debian's curl: the chart's `helm test` pod, the
#                  in-cluster client Pods and the workload Deployment of the suite.
#                  Debian minbase (scripts/image/bases.sh tools); where that cannot be built
#                  (not root, no apt) the chart's default tests.image is pulled instead.
#   LOADGEN_IMAGE  bench/loadgen (standard-library Go mTLS load generator), a static binary in
#                  an image FROM scratch. LOADGEN_BIN: the binary (`make loadgen` builds it).
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DOCKER="${DOCKER:-docker}"
LOADGEN_BIN="${LOADGEN_BIN:-${REPLICA_API_CACHE:-${REPO_ROOT}/.cache}/bench/loadgen}"
log() { printf '%s\n' "test-images: $*" >&2; }
die() { printf '%s\n' "test-images: $*" >&2; exit 1; }

if tools="$("${REPO_ROOT}/scripts/image/bases.sh" tools)"; then
  echo "${tools}"
else
  values="${REPO_ROOT}/helm/replica-api/values.yaml"
  repo="$(awk '/^tests:/ { t = 1 } t && $1 == "repository:" { print $2; exit }' "${values}")"
  tag="$(awk '/^tests:/ { t = 1 } t && $1 == "tag:" { gsub(/"/, "", $2); print $2; exit }' "${values}")"
  log "no local Debian base (see above): pulling the chart's test image ${repo}:${tag}"
  "${DOCKER}" image inspect "${repo}:${tag}" >/dev/null 2>&1 || "${DOCKER}" pull -q "${repo}:${tag}" >/dev/null ||
    die "cannot build a Debian curl image nor pull ${repo}:${tag}"
  echo "TOOLS_IMAGE=${repo}:${tag}"
fi

[[ -x "${LOADGEN_BIN}" ]] || die "${LOADGEN_BIN} not found: make loadgen"
ref="localhost/replica-api-kind/loadgen:$(sha256sum "${LOADGEN_BIN}" | cut -c1-12)"
if ! "${DOCKER}" image inspect "${ref}" >/dev/null 2>&1; then
  ctx="$(mktemp -d)"
  trap 'rm -rf "${ctx}"' EXIT
  cp "${LOADGEN_BIN}" "${ctx}/loadgen"
  printf 'FROM scratch\nCOPY loadgen /loadgen\nUSER 65532:65532\nENTRYPOINT ["/loadgen"]\n' >"${ctx}/Dockerfile"
  DOCKER_BUILDKIT=0 "${DOCKER}" build -q -t "${ref}" "${ctx}" >/dev/null 2>&1 || die "docker build of ${ref} failed"
  log "built ${ref}"
fi
echo "LOADGEN_IMAGE=${ref}"
