#!/usr/bin/env bash
# Makes sure a Chromium for the browser suite and the console benchmark is installed: CHROMIUM (default
# /usr/bin/chromium) when executable; else Debian's package through apt-get when this is root on Debian. Never a
# browser download (`npx playwright install` cannot work on these machines). Exit 0 when Chromium is there; else
# prints "SKIP: <why>" on stdout and exits 3, so callers can skip with the reason.
set -euo pipefail
CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
if [[ -x "${CHROMIUM}" ]]; then
  exit 0
fi
if [[ "${CHROMIUM}" == /usr/bin/chromium && "$(id -u)" == 0 && -f /etc/debian_version ]] && command -v apt-get >/dev/null; then
  echo "chromium: installing Debian's chromium (apt-get)" >&2
  start=$(date +%s)
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends chromium >&2
  echo "chromium: installed $("${CHROMIUM}" --version 2>/dev/null) in $(($(date +%s) - start)) s" >&2
  exit 0
fi
echo "SKIP: no Chromium at ${CHROMIUM}, and this is not root on Debian to install it (apt-get install chromium, or set CHROMIUM)"
exit 3
