#!/bin/sh
# Prints the path of the installed jemalloc for LD_PRELOAD (deno.json's start task), or nothing when it is
# not installed. Why jemalloc: after a burst of load glibc's malloc keeps the freed memory between live blocks
# (RSS stayed +52-57 % above idle 30 s later), while jemalloc hands freed pages back to the kernel from a
# background thread within about a second (+8 %). See BENCHMARKS.md, "The allocator after load". Without it
# the service runs on glibc with MALLOC_ARENA_MAX/MALLOC_TRIM_THRESHOLD_, and logs which allocator it has.
# Debian/Ubuntu: apt-get install libjemalloc2. The image ships its own copy (Dockerfile).
for lib in "/usr/lib/$(uname -m)-linux-gnu/libjemalloc.so.2" /usr/lib64/libjemalloc.so.2 /usr/lib/libjemalloc.so.2; do
  if [ -r "${lib}" ]; then
    printf '%s' "${lib}"
    exit 0
  fi
done
