#!/usr/bin/env bash
# The pinned kind CLI (KIND_VERSION of tests/cluster/versions.env): builds it from the Go module
# proxy into the artifact cache when missing, and prints its path. KIND=/path overrides it.
set -euo pipefail
# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
LOG_PREFIX=kind

if [[ "${KIND}" != "${KIND_BIN}" || -x "${KIND_BIN}" ]]; then
  echo "${KIND}"
  exit 0
fi
export PATH="${PATH}:/usr/local/go/bin"
command -v go >/dev/null 2>&1 || die "kind ${KIND_VERSION} is not built and go is not installed: $(install_hint kind)"
log "building kind ${KIND_VERSION} (go install sigs.k8s.io/kind@${KIND_VERSION})"
tmp="$(dirname "${KIND_BIN}")/.tmp"
rm -rf "${tmp}" && mkdir -p "${tmp}"
GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-buildvcs=false GOBIN="${tmp}" \
  go install -trimpath -ldflags=-s "sigs.k8s.io/kind@${KIND_VERSION}"
mv -f "${tmp}/kind" "${KIND_BIN}"
rm -rf "${tmp}"
echo "${KIND_BIN}"
