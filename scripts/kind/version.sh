#!/usr/bin/env bash
# Prints the release version: the first "## [x.y.z]" heading of CHANGELOG.md (Keep a
# Changelog; "[Unreleased]" is skipped). The one source of the image tag and `make release`.
set -euo pipefail
changelog="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/CHANGELOG.md"
version="$(sed -nE 's/^## \[([0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?)\].*/\1/p' "${changelog}" | head -n 1)"
[[ -n "${version}" ]] || { echo "version.sh: no '## [x.y.z]' heading in ${changelog}" >&2; exit 1; }
echo "${version}"
