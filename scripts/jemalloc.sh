#!/bin/sh
# Usage: scripts/jemalloc.sh            prints the path of the installed jemalloc for LD_PRELOAD (deno.json's start
#                                       task), or nothing when it is not installed
#        scripts/jemalloc.sh ensure     `make run`, before the service starts: as root on Debian (or a derivative
#                                       with apt-get), installs libjemalloc2 when it is missing; anywhere else, says
#                                       once, on stderr, that the service will run on glibc's malloc and how to get
#                                       jemalloc. Never fails: without jemalloc the service still runs.
# Why jemalloc: after a burst of load glibc's malloc keeps the freed memory between live blocks, while jemalloc hands
# freed pages back to the kernel from a background thread within about a second. RSS 30 s after load: +52-57 % of
# idle on glibc, +8 % on jemalloc (BENCHMARKS.md, "The allocator after load"); `make run` on a fresh Debian machine,
# which had no libjemalloc2: +34 % on glibc, +5 % once it was installed. Without it the service runs on glibc with
# MALLOC_ARENA_MAX/MALLOC_TRIM_THRESHOLD_, and its "starting" log line says which allocator it has. The image ships
# its own copy (Dockerfile).

find_jemalloc() {
  for lib in "/usr/lib/$(uname -m)-linux-gnu/libjemalloc.so.2" /usr/lib64/libjemalloc.so.2 /usr/lib/libjemalloc.so.2; do
    if [ -r "${lib}" ]; then
      printf '%s' "${lib}"
      return 0
    fi
  done
  return 1
}

say() { printf '%s\n' "jemalloc: $*" >&2; }

# ensure: install libjemalloc2 where this can (root, apt-get), else one line on how to get it. The same apt-get
# steps as the suites' own installs (scripts/kind/engine.sh): one update, then the package without recommends.
ensure() {
  find_jemalloc >/dev/null && return 0
  if [ "$(id -u)" = 0 ] && [ -r /etc/debian_version ] && command -v apt-get >/dev/null 2>&1; then
    say "installing the Debian package libjemalloc2 (missing, running as root): the service's memory after load depends on it"
    if apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libjemalloc2 >/dev/null &&
      lib="$(find_jemalloc)"; then
      say "installed ${lib}"
      return 0
    fi
    say "could not install libjemalloc2 with apt-get; the service runs on glibc's malloc"
    return 0
  fi
  say "not installed, so the service runs on glibc's malloc, which keeps far more memory after load" \
    "(RSS 30 s after load +34 % of idle, against +5 % on jemalloc). Get it with: apt-get install libjemalloc2" \
    "(Debian, Ubuntu), dnf install jemalloc (Fedora, RHEL) or pacman -S jemalloc (Arch); deno task start preloads it."
}

case "${1:-}" in
  "") find_jemalloc || true ;;
  ensure) ensure ;;
  *)
    say "unknown argument '$1' (expected nothing or 'ensure')"
    exit 2
    ;;
esac
