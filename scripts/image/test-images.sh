#!/usr/bin/env bash
# The images the KIND suite runs next to replica-api, built without any registry. Prints
# "NAME=<ref>" lines (the caller evals or saves them):
#
#   TOOLS_IMAGE    a shell, coreutils and Debian's curl: the chart's `helm test` pod, the
#                  in-cluster client Pods and the workload Deployment of the suite.
#                  Debian minbase (scripts/image/bases.sh tools); where that cannot be built
#                  (not root, no apt) the chart's default tests.image is pulled instead.
#   TOOLS_IMAGE_NEXT  a second tag of TOOLS_IMAGE's repository (a LABEL on top of it, built here,
#                  no registry): the image the KIND suite sets with set image and undoes back,
#                  so a rollout really changes the image the Pods run, and the release's
#                  policy (<tools repository>:*) allows it.
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
  tools="${tools#TOOLS_IMAGE=}"
else
  values="${REPO_ROOT}/helm/replica-api/values.yaml"
  repo="$(awk '/^tests:/ { t = 1 } t && $1 == "repository:" { print $2; exit }' "${values}")"
  tag="$(awk '/^tests:/ { t = 1 } t && $1 == "tag:" { gsub(/"/, "", $2); print $2; exit }' "${values}")"
  log "no local Debian base (see above): pulling the chart's test image ${repo}:${tag}"
  "${DOCKER}" image inspect "${repo}:${tag}" >/dev/null 2>&1 || "${DOCKER}" pull -q "${repo}:${tag}" >/dev/null ||
    die "cannot build a Debian curl image nor pull ${repo}:${tag}"
  echo "TOOLS_IMAGE=${repo}:${tag}"
  tools="${repo}:${tag}"
fi

# The second tag: same repository, same layers, another image id (the label is in its config), so the
# Pods' imageID tells which of the two they run. A one-line build on a local image pulls nothing.
next="${tools%:*}:${tools##*:}-next"
if ! "${DOCKER}" image inspect "${next}" >/dev/null 2>&1 ||
  [[ "$("${DOCKER}" image inspect --format '{{index .Config.Labels "dev.replica-api.kind-suite.from"}}' "${next}")" != "${tools}" ]]; then
  printf 'FROM %s\nLABEL dev.replica-api.kind-suite.from="%s"\n' "${tools}" "${tools}" |
    DOCKER_BUILDKIT=0 "${DOCKER}" build -q -t "${next}" - >/dev/null 2>&1 || die "docker build of ${next} (FROM ${tools}) failed"
  log "built ${next}"
fi
echo "TOOLS_IMAGE_NEXT=${next}"

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
