#!/usr/bin/env bash
# Stages the Docker build context of the Dockerfile in DIR (default .cache/image/context):
#
#   DIR/deno           the pinned Deno binary (the npm package deno@DENO_VERSION, `make deno`)
#   DIR/app/           deno.json, deno.lock, src/, api/ and node_modules/ installed with
#                      `deno install --frozen` (the lockfile's exact npm packages)
#
# Everything the image needs is fetched here, on the host, from package registries; the
# Dockerfile's build steps only copy and verify (`deno cache --cached-only --frozen`), so a
# build never needs the network. DENO (exported by the Makefile) must be DENO_VERSION.
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DIR="${1:-${REPLICA_API_CACHE:-${REPO_ROOT}/.cache}/image/context}"
DENO="${DENO:-deno}"
log() { printf '%s\n' "image-context: $*" >&2; }
die() { printf '%s\n' "image-context: $*" >&2; exit 1; }

want="$(sed -n 's/^DENO_VERSION[[:space:]]*:*=[[:space:]]*//p' "${REPO_ROOT}/Makefile" | head -n 1)"
have="$("${DENO}" --version 2>/dev/null | sed -n 's/^deno \([0-9.]*\).*/\1/p')"
[[ "${have}" == "${want}" ]] || die "the image ships Deno ${want} (Makefile DENO_VERSION) but ${DENO} is ${have:-not runnable}: run through make, or set DENO"
bin="$(readlink -f "$(command -v "${DENO}")")"
# The npm package's launcher may be a script; the image needs the ELF binary itself.
head -c 4 "${bin}" | grep -q $'\x7fELF' || die "${bin} is not the Deno binary (ELF): set DENO to the binary"

rm -rf "${DIR}.new"
mkdir -p "${DIR}.new/app"
cp "${bin}" "${DIR}.new/deno"
cp "${REPO_ROOT}/deno.json" "${REPO_ROOT}/deno.lock" "${DIR}.new/app/"
cp -r "${REPO_ROOT}/src" "${DIR}.new/app/src"
# src/handlers/openapi.ts serves the OpenAPI document it imports.
cp -r "${REPO_ROOT}/api" "${DIR}.new/app/api"
# Its own node_modules from the lockfile (not the developer's), fetched through Deno's npm cache.
(cd "${DIR}.new/app" && "${DENO}" install --frozen --quiet) || die "deno install --frozen failed in ${DIR}.new/app"
rm -rf "${DIR}"
mv "${DIR}.new" "${DIR}"
log "staged ${DIR}: deno ${have}, app/ $(du -sh "${DIR}/app" | cut -f1) (node_modules $(du -sh "${DIR}/app/node_modules" | cut -f1))"
