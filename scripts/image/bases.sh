#!/usr/bin/env bash
# Base images made locally from Debian packages, for hosts that cannot pull public images
# (`make image` with IMAGE_BASES=local, and the KIND suite's helper images). Nothing here
# needs a container registry: only the Debian mirror apt already uses, and a Docker daemon
# to import the result. Cached by content: an image is rebuilt only when a package version or
# BASES_REVISION (bump it when a change here changes what goes into an image) changes.
#
#   scripts/image/bases.sh runtime   distroless-like runtime: libc6, libgcc-s1, libstdc++6 (cc-debian12
#                                    has it; Debian's jemalloc, which the image preloads, needs it),
#                                    ca-certificates,
#                                    /etc/passwd with nonroot (65532), /tmp; no shell, no package manager
#   scripts/image/bases.sh tools     debootstrap --variant=minbase bookworm plus curl and
#                                    ca-certificates: the build stage, the curl client and the
#                                    workload of the KIND suite
#   scripts/image/bases.sh all       both
#
# Prints one line per image, "RUNTIME_IMAGE=<ref>" / "TOOLS_IMAGE=<ref>", for the caller to eval.
# Needs root (debootstrap, chown) and apt; DOCKER picks the client (default docker).
set -euo pipefail
# The machine's artifact cache (shared by every clone, like scripts/kind's): the rootfs tars.
CACHE_DIR="${REPLICA_API_ARTIFACTS:-${XDG_CACHE_HOME:-${HOME}/.cache}/replica-api}/image-bases"
DOCKER="${DOCKER:-docker}"
SUITE="${DEBIAN_SUITE:-bookworm}"
# localhost/...: a pull of these names can only ever go to loopback, never to a public registry.
REPO_PREFIX="${BASE_IMAGE_PREFIX:-localhost/replica-api-base}"
BASES_REVISION=2
RUNTIME_PACKAGES=(libc6 libgcc-s1 libstdc++6 ca-certificates)
TOOLS_PACKAGES=(curl ca-certificates)

log() { printf '%s\n' "image-bases: $*" >&2; }
die() { printf '%s\n' "image-bases: $*" >&2; exit 1; }

[[ "$(id -u)" == 0 ]] || die "needs root (debootstrap, file ownership in the image): run as root, or IMAGE_BASES=public"
command -v apt-get >/dev/null || die "apt-get not found: local bases are built from Debian packages (Debian host), or use IMAGE_BASES=public"

# candidate <pkg>...: "pkg=version" lines from apt's current view (apt-get update first when unknown).
candidates() {
  local p v out=()
  for p in "$@"; do
    v="$(apt-cache policy "${p}" 2>/dev/null | sed -n 's/^ *Candidate: //p')"
    if [[ -z "${v}" || "${v}" == "(none)" ]]; then
      apt-get update -qq >/dev/null 2>&1 || true
      v="$(apt-cache policy "${p}" 2>/dev/null | sed -n 's/^ *Candidate: //p')"
    fi
    [[ -n "${v}" && "${v}" != "(none)" ]] || die "no Debian package ${p} in apt's sources"
    out+=("${p}=${v}")
  done
  printf '%s\n' "${out[@]}"
}

# tag_for <name> <pkg=ver lines>: a tag that changes with BASES_REVISION and the package versions.
tag_for() {
  local sum
  sum="$(printf '%s\n' "${BASES_REVISION}" "$2" | sha256sum | cut -c1-12)"
  echo "${REPO_PREFIX}/$1:${SUITE}-${sum}"
}

have_image() { "${DOCKER}" image inspect "$1" >/dev/null 2>&1; }

# rootfs_tar <ref>: where the root filesystem of <ref> is kept, so a lost Docker state
# (a new --data-root) re-imports it in seconds instead of rebuilding it.
rootfs_tar() { local r="${1##*/}"; echo "${CACHE_DIR}/${r//:/-}.tar"; }

# keep_tar <ref> <rootfs dir>: writes the tar of <ref> and drops older tars of the same image.
keep_tar() {
  local tar name
  tar="$(rootfs_tar "$1")" name="${1##*/}"
  tar --numeric-owner -C "$2" -cf "${tar}.part" . && mv "${tar}.part" "${tar}"
  find "${CACHE_DIR}" -maxdepth 1 -name "${name%%:*}-*.tar" ! -path "${tar}" -delete
}

# import <ref> <Dockerfile lines>: the cached rootfs tar as an image, then the config that
# `docker import --change` cannot set (STOPSIGNAL) added with a one-stage build.
import_rootfs() {
  local ref="$1" extra="$2" ctx
  "${DOCKER}" info >/dev/null 2>&1 || die "'${DOCKER} info' fails: a Docker daemon is needed to import ${ref}"
  "${DOCKER}" import - "${ref}-rootfs" <"$(rootfs_tar "${ref}")" >/dev/null
  ctx="$(mktemp -d)"
  printf 'FROM %s\n%s\n' "${ref}-rootfs" "${extra}" >"${ctx}/Dockerfile"
  DOCKER_BUILDKIT=0 "${DOCKER}" build -q -t "${ref}" "${ctx}" >/dev/null 2>&1 || die "docker build of ${ref} failed"
  "${DOCKER}" rmi "${ref}-rootfs" >/dev/null
  rm -rf "${ctx}"
}

# The distroless-like runtime: the .deb files unpacked (no maintainer scripts run; there is
# nothing to run them with), the CA bundle assembled as update-ca-certificates would, and the
# users distroless has (root, nobody, nonroot 65532).
build_runtime() {
  local versions ref
  versions="$(candidates "${RUNTIME_PACKAGES[@]}")"
  ref="$(tag_for runtime-cc "${versions}")"
  if have_image "${ref}"; then echo "RUNTIME_IMAGE=${ref}"; return; fi
  [[ -f "$(rootfs_tar "${ref}")" ]] || runtime_rootfs "${ref}" "${versions}"
  import_rootfs "${ref}" 'ENV PATH=/usr/local/bin:/usr/bin:/bin SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
USER 65532:65532
WORKDIR /home/nonroot'
  log "imported ${ref}"
  echo "RUNTIME_IMAGE=${ref}"
}

runtime_rootfs() {
  local ref="$1" versions="$2" work deb
  log "building ${ref} from ${versions//$'\n'/ }"
  work="${CACHE_DIR}/runtime.work"
  rm -rf "${work}" && mkdir -p "${work}/debs" "${work}/root"
  # shellcheck disable=SC2086  # one "pkg=version" word per line
  (cd "${work}/debs" && apt-get download -qq -o APT::Sandbox::User=root ${versions} >/dev/null) || die "apt-get download ${versions//$'\n'/ } failed"
  for deb in "${work}"/debs/*.deb; do dpkg-deb -x "${deb}" "${work}/root"; done
  local r="${work}/root"
  rm -rf "${r}/usr/share/doc" "${r}/usr/share/man" "${r}/usr/share/lintian" "${r}/usr/share/locale" "${r}/usr/sbin" "${r}/etc/ca-certificates"*
  mkdir -p "${r}/etc/ssl/certs" "${r}/tmp" "${r}/home/nonroot" "${r}/root"
  find "${r}/usr/share/ca-certificates" -name '*.crt' -print0 | sort -z | xargs -0 cat >"${r}/etc/ssl/certs/ca-certificates.crt"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"${r}/etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n' >"${r}/etc/group"
  printf 'hosts: files dns\n' >"${r}/etc/nsswitch.conf"
  chmod 1777 "${r}/tmp"
  chown 65532:65532 "${r}/home/nonroot"
  chmod 700 "${r}/root"
  keep_tar "${ref}" "${r}"
  rm -rf "${work}"
}

# Debian minbase with curl: a shell, coreutils and curl, nothing else installed.
build_tools() {
  local versions ref
  versions="$(candidates base-files "${TOOLS_PACKAGES[@]}")"
  ref="$(tag_for tools "${versions}")"
  if have_image "${ref}"; then echo "TOOLS_IMAGE=${ref}"; return; fi
  [[ -f "$(rootfs_tar "${ref}")" ]] || tools_rootfs "${ref}"
  import_rootfs "${ref}" 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
STOPSIGNAL SIGTERM
CMD ["/bin/bash"]'
  log "imported ${ref}"
  echo "TOOLS_IMAGE=${ref}"
}

tools_rootfs() {
  local ref="$1" work mirror
  command -v debootstrap >/dev/null || {
    log "installing debootstrap (Debian package)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
  }
  mirror="${DEBIAN_MIRROR:-$(apt_mirror)}"
  log "building ${ref}: debootstrap --variant=minbase ${SUITE} (+ ${TOOLS_PACKAGES[*]}) from ${mirror}"
  work="${CACHE_DIR}/tools.work"
  rm -rf "${work}" && mkdir -p "${work}"
  mkdir -p "${CACHE_DIR}/debs"
  debootstrap --variant=minbase --cache-dir="${CACHE_DIR}/debs" --include="$(IFS=,; echo "${TOOLS_PACKAGES[*]}")" "${SUITE}" "${work}/root" "${mirror}" \
    >"${CACHE_DIR}/tools.debootstrap.log" 2>&1 || die "debootstrap failed: see ${CACHE_DIR}/tools.debootstrap.log"
  local r="${work}/root"
  rm -rf "${r}/var/cache/apt/archives/"*.deb "${r}/var/lib/apt/lists/"* "${r}/usr/share/doc" "${r}/usr/share/man" "${r}/usr/share/locale"
  keep_tar "${ref}" "${r}"
  rm -rf "${work}"
}

# The first http(s) Debian mirror in apt's sources (deb822 or one-line format).
apt_mirror() {
  local m
  m="$(grep -hsE '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' | grep -v security | head -n 1)"
  [[ -n "${m}" ]] || m="$(grep -hsE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list | awk '{print $2}' | grep -v security | head -n 1)"
  [[ -n "${m}" ]] || die "no Debian mirror in apt's sources: set DEBIAN_MIRROR"
  echo "${m}"
}

mkdir -p "${CACHE_DIR}"
case "${1:-all}" in
  runtime) build_runtime ;;
  tools) build_tools ;;
  all) build_runtime && build_tools ;;
  *) die "usage: $0 runtime|tools|all" ;;
esac
