#!/usr/bin/env bash
# Stages the Docker build context of the Dockerfile in DIR (default .cache/image/context):
#
#   DIR/deno           the pinned Deno binary (the npm package deno@DENO_VERSION, `make deno`)
#   DIR/app/           deno.json, deno.lock, src/, api/ and node_modules/ installed with
#                      `deno install --frozen` (the lockfile's exact npm packages)
#   DIR/lib/libjemalloc.so.2  jemalloc, which the image preloads (Dockerfile LD_PRELOAD): from
#                      Debian bookworm's libjemalloc2 (the release of the distroless base, so the
#                      same glibc), its .deb pinned by sha256 and kept in the artifact cache
#
# Everything the image needs is fetched here, on the host, from package registries; the
# Dockerfile's build steps only copy and verify (`deno cache --cached-only --frozen`), so a
# build never needs the network. DENO (exported by the Makefile) must be DENO_VERSION.
#
#   IMAGE_ARCH     the image's architecture (amd64/x86_64 or arm64/aarch64; default the host's,
#                  scripts/image/build.sh passes a --platform of DOCKER_BUILD_ARGS): which
#                  libjemalloc2 .deb; it must be the staged Deno binary's
#   DEBIAN_MIRROR  where the .deb is downloaded from (default http://deb.debian.org/debian)
#   REPLICA_API_ARTIFACTS  the machine's artifact cache (default ${XDG_CACHE_HOME:-$HOME/.cache}/replica-api)
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DIR="${1:-${REPLICA_API_CACHE:-${REPO_ROOT}/.cache}/image/context}"
DENO="${DENO:-deno}"
# The machine's artifact cache (shared by every clone, like scripts/kind's and scripts/image/bases.sh's).
ARTIFACTS_DIR="${REPLICA_API_ARTIFACTS:-${XDG_CACHE_HOME:-${HOME}/.cache}/replica-api}"
# Debian bookworm's jemalloc, the version measured in BENCHMARKS.md; the sha256 of each .deb as
# the Debian archive publishes it (a changed or truncated download fails the build here).
JEMALLOC_DEB_VERSION=5.3.0-1
declare -A JEMALLOC_DEB_SHA256=(
  [amd64]=a4117c23c5c8acf6c9678a6cb086f000b79476369da7efe8a78a70826956ad3d
  [arm64]=866eba7688ec5cbb98200a05540c4909df6320557371b634b5d394cd32b9f252
)
log() { printf '%s\n' "image-context: $*" >&2; }
die() { printf '%s\n' "image-context: $*" >&2; exit 1; }

# debian_arch <uname -m or Debian name>: amd64 or arm64, the architectures the pins cover.
debian_arch() {
  case "$1" in
    x86_64 | amd64) echo amd64 ;;
    aarch64 | arm64) echo arm64 ;;
    *) die "IMAGE_ARCH=$1: the image is built for amd64 (x86_64) or arm64 (aarch64)" ;;
  esac
}

# elf_arch <file>: the Debian architecture of an ELF binary (its e_machine field), or its number.
elf_arch() {
  local machine
  machine="$(od -An -tx1 -j18 -N2 "$1" | tr -d ' \n')"
  case "${machine}" in
    3e00) echo amd64 ;;
    b700) echo arm64 ;;
    *) echo "ELF machine 0x${machine}" ;;
  esac
}

# jemalloc_deb <arch>: the path of the verified libjemalloc2 .deb in the artifact cache,
# downloaded from DEBIAN_MIRROR the first time.
jemalloc_deb() {
  local arch="$1" name sum deb url got
  name="libjemalloc2_${JEMALLOC_DEB_VERSION}_${arch}.deb"
  sum="${JEMALLOC_DEB_SHA256[${arch}]}"
  deb="${ARTIFACTS_DIR}/debs/${name}"
  if [[ -f "${deb}" ]] && [[ "$(sha256sum "${deb}" | cut -d' ' -f1)" == "${sum}" ]]; then
    echo "${deb}"
    return
  fi
  command -v curl >/dev/null || die "curl not found: install curl to download ${name}, or put it (sha256 ${sum}) in ${deb%/*}/"
  url="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
  url="${url%/}/pool/main/j/jemalloc/${name}"
  mkdir -p "${deb%/*}"
  log "downloading ${url}"
  curl -fsSL --retry 2 --connect-timeout 20 --max-time 300 -o "${deb}.part" "${url}" ||
    { rm -f "${deb}.part"; die "cannot download ${url}: set DEBIAN_MIRROR to a reachable Debian mirror, or put ${name} (sha256 ${sum}) in ${deb%/*}/"; }
  got="$(sha256sum "${deb}.part" | cut -d' ' -f1)"
  [[ "${got}" == "${sum}" ]] ||
    { rm -f "${deb}.part"; die "${url} has sha256 ${got}, not the pinned ${sum} of Debian's ${name}: a wrong mirror or a broken download"; }
  mv "${deb}.part" "${deb}"
  echo "${deb}"
}

# unpack_deb <deb> <dir>: the package's files, without dpkg's database or maintainer scripts.
# dpkg-deb when installed, else ar and tar (the data member's compression named explicitly:
# tar cannot detect it on a pipe).
unpack_deb() {
  local deb="$1" dir="$2" member
  if command -v dpkg-deb >/dev/null; then
    dpkg-deb -x "${deb}" "${dir}" || die "dpkg-deb -x ${deb} failed"
    return
  fi
  command -v ar >/dev/null || die "neither dpkg-deb nor ar found: install dpkg or binutils to unpack ${deb}"
  member="$(ar t "${deb}" | grep -m1 '^data\.tar' || true)"
  local decompress=()
  case "${member}" in
    data.tar.xz) decompress=(-J) ;;
    data.tar.gz) decompress=(-z) ;;
    data.tar.zst) decompress=(--zstd) ;;
    data.tar) ;;
    *) die "${deb} has no data.tar member (ar t: $(ar t "${deb}" | tr '\n' ' '))" ;;
  esac
  ar p "${deb}" "${member}" | tar -x "${decompress[@]}" -C "${dir}" || die "unpacking ${member} of ${deb} failed"
}

want="$(sed -n 's/^DENO_VERSION[[:space:]]*:*=[[:space:]]*//p' "${REPO_ROOT}/Makefile" | head -n 1)"
have="$("${DENO}" --version 2>/dev/null | sed -n 's/^deno \([0-9.]*\).*/\1/p')"
[[ "${have}" == "${want}" ]] || die "the image ships Deno ${want} (Makefile DENO_VERSION) but ${DENO} is ${have:-not runnable}: run through make, or set DENO"
bin="$(readlink -f "$(command -v "${DENO}")")"
# The npm package's launcher may be a script; the image needs the ELF binary itself.
head -c 4 "${bin}" | grep -q $'\x7fELF' || die "${bin} is not the Deno binary (ELF): set DENO to the binary"
arch="$(debian_arch "${IMAGE_ARCH:-$(uname -m)}")"
# The preload only works in a process of its own architecture (ld.so ignores it otherwise).
[[ "$(elf_arch "${bin}")" == "${arch}" ]] ||
  die "the image is for ${arch} (IMAGE_ARCH, default the host's) but ${bin} is for $(elf_arch "${bin}"): set DENO to Deno's ${arch} binary, or IMAGE_ARCH"

rm -rf "${DIR}.new"
mkdir -p "${DIR}.new/app"
cp "${bin}" "${DIR}.new/deno"
cp "${REPO_ROOT}/deno.json" "${REPO_ROOT}/deno.lock" "${DIR}.new/app/"
cp -r "${REPO_ROOT}/src" "${DIR}.new/app/src"
# src/handlers/openapi.ts serves the OpenAPI document it imports.
cp -r "${REPO_ROOT}/api" "${DIR}.new/app/api"
# Its own node_modules from the lockfile (not the developer's), fetched through Deno's npm cache.
(cd "${DIR}.new/app" && "${DENO}" install --frozen --quiet) || die "deno install --frozen failed in ${DIR}.new/app"
# The shared object alone, under the name the Dockerfile copies (the package's path has the
# multiarch triplet in it; the image's does not).
deb="$(jemalloc_deb "${arch}")"
unpacked="${DIR}.new/jemalloc.deb.d"
mkdir -p "${unpacked}" "${DIR}.new/lib"
unpack_deb "${deb}" "${unpacked}"
so="$(find "${unpacked}" -name libjemalloc.so.2 \( -type f -o -type l \) | head -n 1)"
[[ -n "${so}" ]] || die "${deb} holds no libjemalloc.so.2"
cp -L "${so}" "${DIR}.new/lib/libjemalloc.so.2"
chmod 0644 "${DIR}.new/lib/libjemalloc.so.2"
[[ "$(elf_arch "${DIR}.new/lib/libjemalloc.so.2")" == "${arch}" ]] || die "${so} of ${deb} is not an ${arch} ELF object"
rm -rf "${unpacked}"
rm -rf "${DIR}"
mv "${DIR}.new" "${DIR}"
log "staged ${DIR}: deno ${have}, app/ $(du -sh "${DIR}/app" | cut -f1) (node_modules $(du -sh "${DIR}/app/node_modules" | cut -f1)), lib/libjemalloc.so.2 (libjemalloc2 ${JEMALLOC_DEB_VERSION} ${arch}, $(du -sh "${DIR}/lib/libjemalloc.so.2" | cut -f1))"
