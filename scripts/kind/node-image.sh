#!/usr/bin/env bash
# The kind node image for KUBERNETES_VERSION. Prints its name on stdout. Usage:
#   scripts/kind/node-image.sh [--offline]
#
# Uses the published kindest/node:<KUBERNETES_VERSION> when it is present or can be pulled
# (tried once, with a short timeout). Otherwise (or with --offline) builds one without any
# container registry, cached by its inputs (image tag replica-api/kind-node:<version>-<hash> in
# the engine's data-root):
#   base      debootstrap of Debian bookworm (mirror from apt's sources) with kind's node package
#             list, Debian's runc and CNI plugins, and kind's own files (images/base/files of the
#             pinned kind module)
#   binaries  containerd, crictl, CoreDNS and kube-router from their Go modules, pause from
#             scripts/kind/pause (all under <artifacts>/bin); kubeadm, kubelet, kubectl, the control
#             plane and etcd from tests/cluster/build.sh, in the local control plane's cache
#             (<clone>/.cache/bin), so the integration suite's builds are reused
#   images    preloaded into the node's containerd, so no Pod ever pulls: kube-apiserver,
#             kube-controller-manager, kube-scheduler (FROM scratch), kube-proxy and kube-router
#             (on a small Debian base with iptables and ipset), etcd, CoreDNS, pause
# Tags are honest: etcd and CoreDNS carry their own versions, so the cluster config tells
# kubeadm which tags to use (scripts/kind/up.sh adds that patch for this image).
set -euo pipefail
# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
LOG_PREFIX=node-image
export PATH="${PATH}:/usr/local/go/bin:/usr/sbin:/sbin"
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-buildvcs=false

BIN_DIR="${ARTIFACTS_DIR}/bin"
WORK_DIR="${ARTIFACTS_DIR}/node-image"
LOG_DIR="${ARTIFACTS_DIR}/logs"
PUBLISHED_IMAGE="kindest/node:${KUBERNETES_VERSION}"
REGISTRY=registry.k8s.io
K8S_COMPONENTS=(kubeadm kubelet kubectl kube-apiserver kube-controller-manager kube-scheduler kube-proxy)
# kind's node package list (images/base/Dockerfile) minus storage test tools, plus Debian's
# runc and CNI plugins (kind builds those from source).
NODE_PACKAGES=systemd,conntrack,iptables,nftables,iproute2,ethtool,util-linux,mount,kmod,libseccomp2,pigz,fuse-overlayfs,bash,ca-certificates,curl,jq,procps,runc,containernetworking-plugins
NET_PACKAGES=iptables,ipset,conntrack,iproute2,kmod

# input_hash: changes whenever anything the offline image is made of changes.
input_hash() {
  {
    echo "${KUBERNETES_VERSION} ${ETCD_VERSION} ${CONTAINERD_VERSION} ${CRICTL_VERSION} ${COREDNS_VERSION} ${KIND_VERSION} ${KUBE_ROUTER_VERSION}"
    cat "${BASH_SOURCE[0]}" "${KIND_SCRIPTS_DIR}/pause/main.go"
  } | sha256sum | cut -c1-12
}

have_image() { "${DOCKER}" image inspect "$1" >/dev/null 2>&1; }

# try_published: the published node image, when present or pullable within 20 s.
try_published() {
  have_image "${PUBLISHED_IMAGE}" && return 0
  log "trying ${PUBLISHED_IMAGE} (20 s at most)"
  timeout 20 "${DOCKER}" pull -q "${PUBLISHED_IMAGE}" >/dev/null 2>&1
}

debian_mirror() {
  local m
  m="$(sed -n 's/^URIs: *\([^ ]*\).*/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -m1 '/debian/\{0,1\}$' || true)"
  [[ -n "${m}" ]] || m="$(awk '$1 == "deb" && $2 ~ /\/debian\/?$/ { print $2; exit }' /etc/apt/sources.list 2>/dev/null || true)"
  echo "${m:-http://deb.debian.org/debian}"
}

# ------------------------------------------------------------------------------ binaries
go_module_dir() { (cd "${WORK_DIR}" && go mod download -json "$1" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p'); }

# go_install <name> <version> <module@version> <package>...: static binaries into
# BIN_DIR/<name>-<version>/, unless there already. One `go install` for all the packages (same module and
# version), so the packages they share are loaded and compiled once.
go_install() {
  local name="$1" version="$2" modver="$3" start pkgs=()
  shift 3
  local out="${BIN_DIR}/${name}-${version}" ldflags="${GO_LDFLAGS:-}"
  [[ ! -f "${out}/.done" ]] && start=${SECONDS} || return 0
  log "building ${name} ${version} from ${modver%@*} (log: ${LOG_DIR}/build-${name}-${version}.log)"
  mkdir -p "${out}" "${LOG_DIR}"
  for pkg in "$@"; do pkgs+=("${pkg}@${modver#*@}"); done
  GOBIN="${out}" go install -trimpath -tags "${GO_TAGS:-}" -ldflags "-s -w ${ldflags}" "${pkgs[@]}" \
    >>"${LOG_DIR}/build-${name}-${version}.log" 2>&1 || die "building ${name} failed: $(tail -n 5 "${LOG_DIR}/build-${name}-${version}.log")"
  touch "${out}/.done"
  log "built ${name} ${version} in $((SECONDS - start))s"
}

# build_binaries: two lanes of builds side by side. One go build alone leaves a core idle while it downloads
# modules or links; a second one fills that. (CoreDNS alone is about as long as the other three.)
build_binaries() {
  local lane_a lane_b
  build_lane_a &
  lane_a=$!
  build_lane_b &
  lane_b=$!
  wait "${lane_a}" || die "building containerd, crictl or kube-router failed"
  wait "${lane_b}" || die "building CoreDNS or pause failed"
  # Last, and in the local control plane's own cache: etcd, kube-apiserver and kube-controller-manager are the
  # binaries the integration suite already built (tests/cluster/build.sh), and the other five are built together
  # in one go build. (While that build holds the cache's lock, this waits for it, so it never builds them twice.)
  "${REPO_ROOT}/tests/cluster/build.sh" etcd "${K8S_COMPONENTS[@]}"
}

build_lane_a() {
  GO_TAGS="no_aufs no_zfs no_btrfs no_devmapper" GO_LDFLAGS="-X github.com/containerd/containerd/v2/version.Version=${CONTAINERD_VERSION}" \
    go_install containerd "${CONTAINERD_VERSION}" "github.com/containerd/containerd/v2@${CONTAINERD_VERSION}" \
    github.com/containerd/containerd/v2/cmd/containerd github.com/containerd/containerd/v2/cmd/ctr \
    github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2
  GO_LDFLAGS="-X sigs.k8s.io/cri-tools/pkg/version.Version=${CRICTL_VERSION}" \
    go_install crictl "${CRICTL_VERSION}" "sigs.k8s.io/cri-tools@${CRICTL_VERSION}" sigs.k8s.io/cri-tools/cmd/crictl
  GO_LDFLAGS="-X github.com/cloudnativelabs/kube-router/v2/pkg/version.Version=${KUBE_ROUTER_VERSION}" \
    go_install kube-router "${KUBE_ROUTER_VERSION}" "github.com/cloudnativelabs/kube-router/v2@${KUBE_ROUTER_VERSION}" \
    github.com/cloudnativelabs/kube-router/v2/cmd/kube-router
}

build_lane_b() {
  go_install coredns "${COREDNS_VERSION}" "github.com/coredns/coredns@${COREDNS_VERSION}" github.com/coredns/coredns
  build_pause
}

build_pause() {
  local out
  out="${BIN_DIR}/pause-${key}"
  [[ -x "${out}/pause" ]] && return 0
  mkdir -p "${out}"
  (cd "${KIND_SCRIPTS_DIR}/pause" && go build -trimpath -ldflags "-s -w" -o "${out}/pause" .)
}

# The local control plane's binaries (tests/cluster/lib.sh: BIN_ROOT), shared with the integration suite.
CLUSTER_BIN_DIR="${CLONE_CACHE}/bin"
k8s_bin() { echo "${CLUSTER_BIN_DIR}/$1-${KUBERNETES_VERSION}/$1"; }

# ------------------------------------------------------------------------------ base images
# rootfs_image <image> <packages> <name>: a debootstrap of bookworm imported as <image>, unless present.
rootfs_image() {
  local image="$1" packages="$2" dir start=${SECONDS} dlog="${LOG_DIR}/debootstrap-$3.log"
  have_image "${image}" && return 0
  dir="${WORK_DIR}/rootfs-$3"
  rm -rf "${dir}"
  log "debootstrap bookworm (${packages}) -> ${image} (log: ${dlog})"
  debootstrap --variant=minbase --include="${packages}" bookworm "${dir}" "$(debian_mirror)" >"${dlog}" 2>&1 ||
    die "debootstrap failed: $(tail -n 5 "${dlog}")"
  rm -rf "${dir}"/var/cache/apt/archives/*.deb "${dir}"/var/lib/apt/lists/*
  tar -C "${dir}" -c . | "${DOCKER}" import - "${image}" >/dev/null
  rm -rf "${dir}"
  log "${image} in $((SECONDS - start))s"
}

# docker_build <image> <context dir> : Dockerfile read from stdin. BuildKit when buildx is there,
# else the classic builder (Debian's Docker 20.10 has no buildx); its output only on failure.
docker_build() {
  local buildkit=0 out
  "${DOCKER}" buildx version >/dev/null 2>&1 && buildkit=1
  out="$(DOCKER_BUILDKIT=${buildkit} "${DOCKER}" build -q -t "$1" -f - "$2" 2>&1)" || die "docker build $1 failed: ${out}"
}

# component_images <dir> <tag-suffix>: the images the node preloads, saved as <dir>/*.tar.
component_images() {
  local dir="$1" ctx name
  ctx="${WORK_DIR}/ctx"
  rm -rf "${ctx}" && mkdir -p "${ctx}" "${dir}"
  for name in kube-apiserver kube-controller-manager kube-scheduler kube-proxy; do cp "$(k8s_bin "${name}")" "${ctx}/"; done
  cp "${CLUSTER_BIN_DIR}/etcd-${ETCD_VERSION}/etcd" "${BIN_DIR}/coredns-${COREDNS_VERSION}/coredns" \
    "${BIN_DIR}/kube-router-${KUBE_ROUTER_VERSION}/kube-router" "${BIN_DIR}/pause-${key}/pause" "${ctx}/"
  for name in kube-apiserver kube-controller-manager kube-scheduler; do
    printf 'FROM scratch\nCOPY %s /usr/local/bin/%s\nENTRYPOINT ["/usr/local/bin/%s"]\n' "${name}" "${name}" "${name}" |
      docker_build "${REGISTRY}/${name}:${KUBERNETES_VERSION}" "${ctx}"
  done
  printf 'FROM %s\nCOPY kube-proxy /usr/local/bin/kube-proxy\n' "${NET_IMAGE}" | docker_build "${REGISTRY}/kube-proxy:${KUBERNETES_VERSION}" "${ctx}"
  printf 'FROM %s\nCOPY kube-router /usr/local/bin/kube-router\nENTRYPOINT ["/usr/local/bin/kube-router"]\n' "${NET_IMAGE}" |
    docker_build "${KUBE_ROUTER_IMAGE}" "${ctx}"
  printf 'FROM scratch\nCOPY etcd /usr/local/bin/etcd\nENTRYPOINT ["/usr/local/bin/etcd"]\n' | docker_build "${REGISTRY}/etcd:${ETCD_VERSION}" "${ctx}"
  printf 'FROM scratch\nCOPY coredns /coredns\nENTRYPOINT ["/coredns"]\n' | docker_build "${REGISTRY}/coredns/coredns:${COREDNS_VERSION}" "${ctx}"
  printf 'FROM scratch\nCOPY pause /pause\nUSER 65535:65535\nENTRYPOINT ["/pause"]\n' | docker_build "${PAUSE_IMAGE}" "${ctx}"
  for name in kube-apiserver kube-controller-manager kube-scheduler kube-proxy; do
    "${DOCKER}" save -o "${dir}/${name}.tar" "${REGISTRY}/${name}:${KUBERNETES_VERSION}"
  done
  "${DOCKER}" save -o "${dir}/etcd.tar" "${REGISTRY}/etcd:${ETCD_VERSION}"
  "${DOCKER}" save -o "${dir}/coredns.tar" "${REGISTRY}/coredns/coredns:${COREDNS_VERSION}"
  "${DOCKER}" save -o "${dir}/pause.tar" "${PAUSE_IMAGE}"
  "${DOCKER}" save -o "${dir}/kube-router.tar" "${KUBE_ROUTER_IMAGE}"
  rm -rf "${ctx}"
}

# ------------------------------------------------------------------------------ node image
# node_fs <dir>: kind's files and our binaries, laid out as kind's base image and
# `kind build node-image` lay them out.
node_fs() {
  local dir="$1" kind_files
  kind_files="$(go_module_dir "sigs.k8s.io/kind@${KIND_VERSION}")/images/base/files"
  [[ -d "${kind_files}" ]] || die "kind's base files not found in the module sigs.k8s.io/kind@${KIND_VERSION}"
  rm -rf "${dir}" && mkdir -p "${dir}"/{usr/local/bin,usr/bin,kind/bin,etc,opt/cni}
  cp -r "${kind_files}/etc/." "${dir}/etc/"
  cp -r "${kind_files}/kind/." "${dir}/kind/"
  cp "${kind_files}"/usr/local/bin/* "${dir}/usr/local/bin/"
  chmod -R u+w,go-w "${dir}" && chmod 0755 "${dir}"/usr/local/bin/* "${dir}"/kind/bin/*
  cp "${BIN_DIR}/containerd-${CONTAINERD_VERSION}"/{containerd,ctr,containerd-shim-runc-v2} "${BIN_DIR}/crictl-${CRICTL_VERSION}/crictl" "${dir}/usr/local/bin/"
  cp "$(k8s_bin kubeadm)" "$(k8s_bin kubelet)" "$(k8s_bin kubectl)" "${dir}/usr/bin/"
  echo "${KUBERNETES_VERSION}" >"${dir}/kind/version"
  # Our pause is the sandbox image.
  sed -i "s|^\( *sandbox_image = \).*|\1\"${PAUSE_IMAGE}\"|" "${dir}/etc/containerd/config.toml"
  ln -s /usr/lib/cni "${dir}/opt/cni/bin"
}

# preload <image> <images dir>: imports the component images into the node's containerd, as
# `kind build node-image` does (a privileged container, its containerd, ctr import, commit).
preload() {
  local image="$1" images="$2" id
  id="$("${DOCKER}" run -d --privileged --entrypoint sleep -v "${images}:/images:ro" "${image}-unloaded" infinity)"
  # shellcheck disable=SC2064  # the id now
  trap "'${DOCKER}' rm -f '${id}' >/dev/null 2>&1" EXIT
  # shellcheck disable=SC2016  # expanded in the container
  "${DOCKER}" exec "${id}" bash -euc '
    containerd >/tmp/containerd.log 2>&1 &
    pid=$!
    for i in $(seq 100); do ctr info >/dev/null 2>&1 && break; sleep 0.1; done
    for t in /images/*.tar; do
      ctr --namespace=k8s.io images import --label=io.cri-containerd.pinned=pinned --all-platforms --no-unpack --digests "$t" \
        >/tmp/ctr.out 2>&1 || { cat /tmp/ctr.out; exit 1; }
    done
    echo "preloaded: $(ctr --namespace=k8s.io images list -q 2>/dev/null | grep -vE "^(sha256:|import-)" | tr "\n" " ")"
    kill "$pid"; wait "$pid" || true
    rm -f /tmp/containerd.log' >&2
  "${DOCKER}" commit --change 'ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]' --change 'CMD []' "${id}" "${image}" >/dev/null
  "${DOCKER}" rm -f "${id}" >/dev/null
  trap - EXIT
}

build_offline() {
  local image="$1" start=${SECONDS} fs images node_base net_base
  mkdir -p "${WORK_DIR}" "${LOG_DIR}"
  # debootstrap waits on the network, the Go builds on the CPU: run them side by side.
  rootfs_image "${NODE_BASE_IMAGE}" "${NODE_PACKAGES}" node &
  node_base=$!
  rootfs_image "${NET_IMAGE}" "${NET_PACKAGES}" net &
  net_base=$!
  build_binaries
  wait "${node_base}" || die "the node's Debian base image could not be built"
  wait "${net_base}" || die "the network Debian base image could not be built"
  images="${WORK_DIR}/images-${key}"
  component_images "${images}"
  fs="${WORK_DIR}/fs-${key}"
  node_fs "${fs}"
  # As kind's base Dockerfile: services, systemd in a container, the base runtime spec.
  docker_build "${image}-unloaded" "${fs}" <<EOF
FROM ${NODE_BASE_IMAGE}
COPY . /
RUN find /lib/systemd/system/sysinit.target.wants/ -name systemd-tmpfiles-setup.service -delete \
 && rm -f /lib/systemd/system/multi-user.target.wants/* /etc/systemd/system/*.wants/* \
    /lib/systemd/system/local-fs.target.wants/* /lib/systemd/system/sockets.target.wants/*udev* \
    /lib/systemd/system/sockets.target.wants/*initctl* /lib/systemd/system/basic.target.wants/* \
 && echo "ReadKMsg=no" >> /etc/systemd/journald.conf \
 && ln -sf /usr/lib/systemd/systemd /sbin/init \
 && systemctl enable kubelet.service containerd.service undo-mount-hacks.service \
 && systemctl mask systemd-binfmt.service \
 && mkdir -p /etc/kubernetes/manifests \
 && ctr oci spec | jq '.hooks.createContainer[.hooks.createContainer | length] |= . + {"path": "/kind/bin/mount-product-files.sh"}' \
    | jq 'del(.process.rlimits)' > /etc/containerd/cri-base.json
# systemd checks "container"; it exits on SIGRTMIN+3 (SIGTERM re-executes it). up.sh reads the labels.
ENV container=docker
STOPSIGNAL SIGRTMIN+3
LABEL dev.replica-api.etcd-tag=${ETCD_VERSION} dev.replica-api.coredns-tag=${COREDNS_VERSION} \
      dev.replica-api.kube-router-image=${KUBE_ROUTER_IMAGE}
EOF
  preload "${image}" "${images}"
  "${DOCKER}" rmi "${image}-unloaded" >/dev/null
  rm -rf "${fs}" "${images}"
  log "built ${image} in $((SECONDS - start))s"
  prune_stale
}

# prune_stale: node images (and their kube-router/pause images) of earlier inputs, unless a
# container still uses them. They are large (about 1.2 GB each).
prune_stale() {
  local ref
  for ref in $("${DOCKER}" images --format '{{.Repository}}:{{.Tag}}' | grep -E '^localhost/replica-api/(kind-node|kube-router|pause):'); do
    case "${ref}" in "${OFFLINE_IMAGE}" | "${KUBE_ROUTER_IMAGE}" | "${PAUSE_IMAGE}") continue ;; esac
    [[ -z "$("${DOCKER}" ps -aq --filter "ancestor=${ref}")" ]] || continue
    "${DOCKER}" rmi "${ref}" >/dev/null 2>&1 && log "removed ${ref} (earlier inputs)"
  done
  find "${BIN_DIR}" -maxdepth 1 -name 'pause-*' ! -name "pause-${key}" -exec rm -rf {} +
}

short_hash() { sha256sum <<<"$1" | cut -c1-12; }
key="$(input_hash)"
NODE_BASE_IMAGE="localhost/replica-api/kind-base:bookworm-$(short_hash "${NODE_PACKAGES}")"
NET_IMAGE="localhost/replica-api/net-base:bookworm-$(short_hash "${NET_PACKAGES}")"
PAUSE_IMAGE="localhost/replica-api/pause:${key}"
KUBE_ROUTER_IMAGE="localhost/replica-api/kube-router:${KUBE_ROUTER_VERSION}-${key}"
OFFLINE_IMAGE="localhost/replica-api/kind-node:${KUBERNETES_VERSION}-${key}"

main() {
  if [[ "${1:-}" != --offline ]] && [[ -z "${KIND_NODE_OFFLINE:-}" ]] && try_published; then
    echo "${PUBLISHED_IMAGE}"
    return 0
  fi
  if ! have_image "${OFFLINE_IMAGE}"; then
    # One build at a time on this machine (two clones share the cache); the other one waits
    # and then finds the image.
    mkdir -p "${WORK_DIR}"
    exec 8>"${WORK_DIR}/.lock"
    flock 8
    if ! have_image "${OFFLINE_IMAGE}"; then
      rm -rf "${WORK_DIR}"/fs-* "${WORK_DIR}"/images-* "${WORK_DIR}"/rootfs-* # left by a killed build
      build_offline "${OFFLINE_IMAGE}"
    fi
  fi
  echo "${OFFLINE_IMAGE}"
}
# Sourced (to run one step by hand), it only defines the functions.
[[ "${BASH_SOURCE[0]}" != "$0" ]] || main "$@"
