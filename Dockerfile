# replica-api container image: `make image` (tag = version from CHANGELOG.md).
#
# The build context is staged by scripts/image/context.sh (`make image` runs it), not the
# repository root:
#   deno   the pinned Deno binary, from the npm package deno@2.9.6 (`make deno`, the Makefile's DENO_VERSION)
#   app/   deno.json, deno.lock, src/, api/ and node_modules/ from `deno install --frozen`
#   lib/libjemalloc.so.2   jemalloc from Debian bookworm's libjemalloc2 5.3.0-1 (the release of
#          the runtime base, so the same glibc), the .deb pinned by sha256
# Every dependency is fetched on the host from package registries before the build, so no
# build step needs the network: a build here, where containers reach nothing beyond the
# machine, and on any Docker host with internet run the same steps.
#
# The image runs the pinned `deno` binary on those cached, lockfile-frozen dependencies
# (`--cached-only --frozen`), the way the official Deno images run programs. (`deno compile`
# would need Deno's runtime-only binary, downloaded at build time.) The flags after them are
# deno.json's `start` task, kept in sync by tests/packaging/dockerfile_check.sh (D11).
#
# The process runs on jemalloc, preloaded by the dynamic loader (LD_PRELOAD) from a fixed,
# architecture-independent path, with the start task's MALLOC_CONF. Why (BENCHMARKS.md, "The
# allocator after load", `make bench-memory`): 30 s after a burst of load the resident set was
# still +52-57 % above idle on glibc's malloc, +8 % on jemalloc, whose background thread hands
# freed pages back to the kernel within about a second. The service logs "allocator":"jemalloc"
# on its "starting" line, and warns when LD_PRELOAD names a library that is not there.
#
# RUNTIME_IMAGE is the only base image, used by both stages:
#   - default: gcr.io/distroless/cc-debian12:nonroot (glibc and libgcc, which the deno binary
#     links against, and libstdc++, which Debian's jemalloc does; no shell, no package manager;
#     UID 65532). A rolling tag per Debian release and variant; pass a digest for an immutable build:
#       make image DOCKER_BUILD_ARGS="--build-arg RUNTIME_IMAGE=gcr.io/distroless/cc-debian12:nonroot@sha256:<digest>"
#   - hosts that cannot pull it (IMAGE_BASES=local, or auto when the pull fails): the same
#     content assembled from Debian's libc6, libgcc-s1, libstdc++6 and ca-certificates packages by
#     scripts/image/bases.sh and passed as this build argument.

ARG RUNTIME_IMAGE=gcr.io/distroless/cc-debian12:nonroot

# build: the files in their final place, then proof that they run offline. `--help` loads
# the whole module graph (every npm package) with the image's own flags and exits 0; it fails
# if anything would have to be downloaded or differs from deno.lock. It runs with the runtime
# stage's LD_PRELOAD and MALLOC_CONF, so deno starts on this jemalloc in this base image (a
# library it needs that the base lacks, or a glibc too old, fails here). ld.so only warns about
# a preload it cannot open (then glibc's malloc runs): COPY guarantees the file,
# scripts/image/context.sh its architecture.
# Exec form: no shell needed.
FROM ${RUNTIME_IMAGE} AS build
COPY deno /usr/local/bin/deno
COPY lib/libjemalloc.so.2 /usr/local/lib/libjemalloc.so.2
COPY app/ /app/
WORKDIR /app
ENV DENO_DIR=/tmp/deno \
    DENO_NO_UPDATE_CHECK=1 \
    NO_COLOR=1 \
    LD_PRELOAD=/usr/local/lib/libjemalloc.so.2 \
    MALLOC_CONF=background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0,narenas:2
RUN ["/usr/local/bin/deno", "run", "--cached-only", "--frozen", "--v8-flags=--max-semi-space-size=4,--heap-growing-percent=50", "--allow-net", "--allow-read", "--allow-env", "--allow-sys", "src/main.ts", "--help"]

FROM ${RUNTIME_IMAGE}
ARG VERSION=0.0.0-dev
LABEL org.opencontainers.image.title="replica-api" \
      org.opencontainers.image.description="mTLS API for Kubernetes Deployment replicas" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="UNLICENSED"
COPY --from=build /usr/local/bin/deno /usr/local/bin/deno
COPY --from=build /usr/local/lib/libjemalloc.so.2 /usr/local/lib/libjemalloc.so.2
COPY --from=build /app /app
WORKDIR /app
# Read-only root filesystem: the code and node_modules are owned by root and only read.
# Deno's caches (transpiled code, V8 code cache) go to DENO_DIR under /tmp (the chart mounts
# an emptyDir there); without a writable /tmp Deno runs without them.
# The memory settings of deno.json's start task: jemalloc (see the top) with two arenas, dirty
# pages purged by its background thread after 1 s and muzzy ones at once. MALLOC_ARENA_MAX and
# MALLOC_TRIM_THRESHOLD_ are glibc's and do nothing on jemalloc; they are the fallback when the
# preload is removed (LD_PRELOAD= at run time): two malloc arenas and a 128 KiB trim threshold.
ENV DENO_DIR=/tmp/deno \
    DENO_NO_UPDATE_CHECK=1 \
    NO_COLOR=1 \
    LD_PRELOAD=/usr/local/lib/libjemalloc.so.2 \
    MALLOC_CONF=background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0,narenas:2 \
    MALLOC_ARENA_MAX=2 \
    MALLOC_TRIM_THRESHOLD_=131072
USER 65532:65532
# 8443: mTLS API (LISTEN_ADDR). 8081: plain-HTTP /livez and /readyz (PROBE_ADDR).
EXPOSE 8443 8081
ENTRYPOINT ["/usr/local/bin/deno", "run", "--cached-only", "--frozen", "--v8-flags=--max-semi-space-size=4,--heap-growing-percent=50", "--allow-net", "--allow-read", "--allow-env", "--allow-sys", "src/main.ts"]
