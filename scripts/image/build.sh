#!/usr/bin/env bash
# `make image`: builds IMAGE:VERSION from the Dockerfile with a staged context
# (scripts/image/context.sh) and prints its size.
#
#   IMAGE_BASES=auto    (default) the public base image when it is present or can be pulled,
#                       else one made from Debian packages (scripts/image/bases.sh)
#   IMAGE_BASES=public  always the Dockerfile's default base (pulled)
#   IMAGE_BASES=local   always the local Debian-package base (needs root and apt)
#   DOCKER_BUILD_ARGS   extra `docker build` arguments; one naming RUNTIME_IMAGE wins over IMAGE_BASES;
#                       a --platform linux/<arch> picks the staged jemalloc's architecture (IMAGE_ARCH
#                       of scripts/image/context.sh; the staged Deno binary must be that architecture too)
#
# The legacy builder is used when the docker client has no buildx: the Dockerfile needs no
# BuildKit feature, and the legacy builder never asks a registry about an image it has.
set -euo pipefail
# shellcheck source=../kind/lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../kind/lib.sh"
LOG_PREFIX="make image"
require_tools docker

# The Dockerfile's default base image (its ARG default).
public_base="$(sed -n 's/^ARG RUNTIME_IMAGE=//p' "${REPO_ROOT}/Dockerfile" | head -n 1)"
[[ -n "${public_base}" ]] || die "no 'ARG RUNTIME_IMAGE=' default in the Dockerfile"
# shellcheck disable=SC2206  # a list of words on purpose
extra=(${DOCKER_BUILD_ARGS:-})
args=(--build-arg "VERSION=${VERSION}")
mode="${IMAGE_BASES:-auto}"
[[ " ${extra[*]} " != *RUNTIME_IMAGE=* ]] || mode=given
case "${mode}" in
  given) ;;
  public) args+=(--pull) ;;
  local | auto)
    if [[ "${mode}" == auto ]] && { "${DOCKER}" image inspect "${public_base}" >/dev/null 2>&1 ||
      timeout "${PULL_TIMEOUT:-60}" "${DOCKER}" pull -q "${public_base}" >/dev/null 2>&1; }; then
      log "base ${public_base}"
    else
      [[ "${mode}" == local ]] || log "cannot pull ${public_base}: building the base from Debian packages (IMAGE_BASES=local)"
      runtime="$("${REPO_ROOT}/scripts/image/bases.sh" runtime | sed -n 's/^RUNTIME_IMAGE=//p')"
      [[ -n "${runtime}" ]] || die "scripts/image/bases.sh runtime printed no image"
      log "base ${runtime} (Debian packages)"
      args+=(--build-arg "RUNTIME_IMAGE=${runtime}")
    fi
    ;;
  *) die "IMAGE_BASES=${mode}: use auto, public or local" ;;
esac

# The target architecture of a --platform argument, for the context's jemalloc (else the host's).
platform=""
for i in "${!extra[@]}"; do
  case "${extra[$i]}" in
    --platform=*) platform="${extra[$i]#--platform=}" ;;
    --platform) platform="${extra[$((i + 1))]:-}" ;;
  esac
done
[[ "${platform}" != *,* ]] || die "--platform ${platform}: the staged context holds one architecture's binaries; build one platform at a time"
if [[ -n "${platform}" ]]; then
  platform="${platform#*/}" # linux/arm64/v8 -> arm64
  export IMAGE_ARCH="${platform%%/*}"
fi
context="${REPLICA_API_CACHE:-${REPO_ROOT}/.cache}/image/context"
"${REPO_ROOT}/scripts/image/context.sh" "${context}"
builder=()
"${DOCKER}" buildx version >/dev/null 2>&1 || builder=(env DOCKER_BUILDKIT=0)
start=${SECONDS}
"${builder[@]}" "${DOCKER}" build "${args[@]}" "${extra[@]}" -f "${REPO_ROOT}/Dockerfile" -t "${IMAGE}:${VERSION}" "${context}"
size="$("${DOCKER}" image inspect --format '{{.Size}}' "${IMAGE}:${VERSION}")"
log "built ${IMAGE}:${VERSION} in $((SECONDS - start)) s: $((size / 1000000)) MB ($(numfmt --to=iec "${size}"))"
