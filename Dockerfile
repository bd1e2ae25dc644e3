# replica-api container image: `make image` (tag = version from CHANGELOG.md), or `make release`.
#
# Two stages:
#   build    installs Deno exactly like the Makefile does on developer machines and in CI
#            (npm package deno@2.9.6, `make deno`) and runs `make binary`: the same
#            `deno compile` recipe and permissions (those of `deno task start`) that produce
#            the dist/replica-api binary CI runs through the integration suite.
#   runtime  distroless cc (glibc, libgcc; no shell, no package manager), non-root UID 65532,
#            only the binary. No certificate or key is baked in: they are mounted at run time
#            (the Helm chart mounts a Secret and points TLS_*_FILE at it).
#
# Base images are pinned by tag, not left floating:
#   - node:22.12.0-bookworm-slim: the builder. Node is only npm's runtime here (it fetches
#     deno@2.9.6, whose integrity npm checks); bookworm matches the runtime's Debian 12, so
#     the binary links against the same glibc generation it runs on. Chosen over
#     denoland/deno:2.9.6 so the image gets its Deno from the same registry package as
#     `make`, CI and developers (one supply chain; the Makefile stays the only build recipe).
#   - gcr.io/distroless/cc-debian12:nonroot: distroless publishes rolling tags per Debian
#     release and variant only, so the tag pins Debian 12 + the nonroot variant and picks up
#     security rebuilds. For a fully immutable build pass a digest:
#       make image RUNTIME_IMAGE=gcr.io/distroless/cc-debian12:nonroot@sha256:<digest>
#
# `deno compile` downloads Deno's runtime-only binary (denort) for the target from
# dl.deno.land during the build, so the build needs that host (or DENORT_BIN, see mk/packaging.mk).

ARG BUILD_IMAGE=node:22.12.0-bookworm-slim
ARG RUNTIME_IMAGE=gcr.io/distroless/cc-debian12:nonroot

FROM ${BUILD_IMAGE} AS build
# make runs the project's own recipes; ca-certificates lets Deno verify the denort download.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends make ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
ENV npm_config_update_notifier=false \
    DENO_NO_UPDATE_CHECK=1
# Dependencies first: this layer is reused until the Makefile, deno.json or deno.lock change.
COPY Makefile deno.json deno.lock ./
COPY mk/ mk/
RUN make deno deps
COPY src/ src/
RUN make binary

FROM ${RUNTIME_IMAGE}
ARG VERSION=0.0.0-dev
LABEL org.opencontainers.image.title="replica-api" \
      org.opencontainers.image.description="mTLS API for Kubernetes Deployment replicas" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="UNLICENSED"
COPY --from=build /src/dist/replica-api /usr/local/bin/replica-api
# Read-only root filesystem: the binary is compiled with --no-code-cache, so it does not write
# its V8 code cache; anything else Deno writes goes to DENO_DIR under /tmp (the chart mounts an
# emptyDir there; without a writable /tmp Deno falls back to in-memory caches).
ENV DENO_DIR=/tmp/deno \
    NO_COLOR=1
USER 65532:65532
# 8443: mTLS API (LISTEN_ADDR). 8081: plain-HTTP /livez and /readyz (PROBE_ADDR).
EXPOSE 8443 8081
ENTRYPOINT ["/usr/local/bin/replica-api"]
