# Packaging: the compiled binary, the container image, the Helm chart's checks and the KIND
# workflow. Included by the Makefile (`include mk/packaging.mk`), which provides DENO (exported)
# and the targets `deno`, `deps` and `certs`.
#
#   make binary                 dist/replica-api (deno compile, the permissions of `deno task start`)
#   make image / release        container image replica-api:<CHANGELOG version> / binary + image + chart package
#   make chart-test             chart lint, render and schema checks, install/upgrade/RBAC checks on the
#                               local control plane, shellcheck, Dockerfile lint (no container engine needed)
#   make engine / engine-down  Docker for the KIND workflow (Debian's dockerd started as root when none runs)
#   make kind-up kind-load deploy integration-test-kind browser-test-kind kind-upgrade-test undeploy kind-down    (Docker, or root on Debian)
#   make test-kind              all of that plus the engine and teardown, as `make test` runs it
#   make kind-prepare           the engine, kind, node image and images only (make test builds them in the background)

# The version of CHANGELOG.md's first "## [x.y.z]" heading: image tag, release and chart version.
# Recursive (=): evaluated only by the targets that use it (the Docker build context has no scripts/).
RELEASE_VERSION = $(shell scripts/kind/version.sh)
DIST_DIR        := $(CURDIR)/dist
BINARY          := $(DIST_DIR)/replica-api
# The image repository; scripts/kind/*.sh read the same IMAGE (and VERSION) from the environment.
IMAGE           ?= replica-api
# Extra `docker build` arguments, e.g. a digest-pinned base:
#   DOCKER_BUILD_ARGS="--build-arg RUNTIME_IMAGE=gcr.io/distroless/cc-debian12:nonroot@sha256:..."
DOCKER_BUILD_ARGS ?=

.PHONY: binary image release release-check chart-test engine engine-down kind-prepare kind-node-image kind-up kind-load deploy integration-test-kind browser-test-kind kind-upgrade-test undeploy kind-down

# The permissions are read from deno.json's `start` task, so the binary can never drift from
# `deno task start`. --no-code-cache: a compiled binary otherwise writes a V8 code cache to the
# temp directory on first run (pointless in a container, and the root filesystem is read-only).
# deno compile downloads denort (Deno's runtime-only binary) from dl.deno.land; where that host is
# unreachable, point DENORT_BIN at a denort 2.9.6 binary.
binary: deps ## Build dist/replica-api with deno compile (same permissions as deno task start)
	@perms="$$($(DENO) eval --quiet 'const t = JSON.parse(Deno.readTextFileSync("deno.json")).tasks.start.split(/\s+/); \
	  while (/^[A-Z_][A-Z0-9_]*=/.test(t[0])) t.shift(); /* VAR=value: environment, set by the image (Dockerfile ENV) */ \
	  if (t[0] !== "deno" || t[1] !== "run" || t.at(-1) !== "src/main.ts") throw new Error("unexpected start task: " + t.join(" ")); \
	  console.log(t.slice(2, -1).join(" "))')"; \
	echo "deno compile $$perms --no-code-cache src/main.ts -> $(BINARY)"; \
	mkdir -p $(DIST_DIR); \
	if ! $(DENO) compile --quiet --frozen $$perms --no-code-cache --output $(BINARY) src/main.ts; then \
	  echo "make binary: deno compile failed; it needs denort for Deno $$($(DENO) --version | head -1 | cut -d' ' -f2) from dl.deno.land (or DENORT_BIN=/path/to/denort)" >&2; exit 1; \
	fi; \
	ls -l $(BINARY)

# IMAGE_BASES=auto|public|local: the base image (scripts/image/build.sh). The context is staged
# by scripts/image/context.sh: Deno and the npm packages are fetched here, never inside the build.
image: deno ## Build the container image replica-api:<version from CHANGELOG.md> (needs Docker)
	@IMAGE=$(IMAGE) VERSION=$(RELEASE_VERSION) DOCKER_BUILD_ARGS="$(DOCKER_BUILD_ARGS)" scripts/image/build.sh

release: release-check binary image ## Binary, image and chart package for the version in CHANGELOG.md (checks Chart.yaml agrees)
	@LOG_PREFIX="make release" scripts/kind/preflight.sh helm
	@. scripts/kind/lib.sh && "$$HELM" package helm/replica-api --destination $(DIST_DIR)
	@echo "release $(RELEASE_VERSION): $(BINARY), image $(IMAGE):$(RELEASE_VERSION), $(DIST_DIR)/replica-api-$(RELEASE_VERSION).tgz"

# The chart's version and appVersion must be the CHANGELOG version being released.
release-check:
	@chart_version="$$(sed -n 's/^version: *//p' helm/replica-api/Chart.yaml)"; \
	app_version="$$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}$$/\1/p' helm/replica-api/Chart.yaml)"; \
	if [ "$$chart_version" != "$(RELEASE_VERSION)" ] || [ "$$app_version" != "$(RELEASE_VERSION)" ]; then \
	  echo "make release: CHANGELOG.md says $(RELEASE_VERSION) but helm/replica-api/Chart.yaml has version $$chart_version, appVersion $$app_version" >&2; exit 1; \
	fi; \
	echo "release $(RELEASE_VERSION): CHANGELOG.md and Chart.yaml agree"

chart-test: deno ## Chart lint/render/schema checks, install+upgrade+RBAC on the local control plane, shellcheck, Dockerfile lint
	@scripts/chart-test.sh

# ---- KIND (machines with Docker) --------------------------------------------------------------
# Every kubectl/helm call uses the context kind-$(KIND_CLUSTER) (KUBE_CONTEXT overrides it);
# see scripts/kind/lib.sh for the settings (RELEASE, RELEASE_NAMESPACE, CERTS_DIR, ...).

engine: ## Use the running Docker, or install Debian's and start dockerd (root); containers cannot leave this machine
	@scripts/kind/engine.sh up

engine-down: ## Unless containers still run on it: stop dockerd if this clone started it, drop the isolation rules, restore sysctls
	@scripts/kind/engine.sh down

kind-prepare: deno loadgen ## Build what the KIND path needs before a cluster (kind, node image, images); make test runs it in the background
	@IMAGE=$(IMAGE) VERSION=$(RELEASE_VERSION) DOCKER_BUILD_ARGS="$(DOCKER_BUILD_ARGS)" scripts/kind/prepare.sh

kind-node-image: ## The kind node image for the pinned Kubernetes (published, else built offline and cached)
	@scripts/kind/engine.sh up && scripts/kind/node-image.sh

kind-up: ## Create the KIND cluster (engine, pinned kind, node image, pod network, NetworkPolicy); idempotent
	@scripts/kind/up.sh

kind-load: image loadgen ## Build the image (and the suite's curl and load generator images) and load them into the KIND cluster
	@IMAGE=$(IMAGE) VERSION=$(RELEASE_VERSION) scripts/kind/load.sh

deploy: ## helm upgrade --install into the KIND cluster with the dev PKI (certs/gen.sh) and wait
	@IMAGE=$(IMAGE) VERSION=$(RELEASE_VERSION) scripts/kind/deploy.sh

integration-test-kind: deno ## KIND suite (tests/kind) against the deployed release: every scenario of README "Deploying on KIND"
	@scripts/kind/integration-test.sh

browser-test-kind: deno ## KIND: the console in headless Chromium through kubectl port-forward (needs a deployed release)
	@scripts/kind/browser-test.sh

kind-upgrade-test: deno ## KIND: zero failed requests while helm upgrade rolls the Pods under load (needs a deployed release)
	@scripts/kind/upgrade-under-load.sh

# What `make test` runs: engine, cluster, image, load, deploy, suite, then everything taken down
# again (KIND_KEEP=1 keeps it). Skips, saying why, only where no container engine is usable or installable.
.PHONY: test-kind
test-kind: deno loadgen ## The whole KIND path: engine, kind-up, image, kind-load, deploy, KIND suite, teardown
	@IMAGE=$(IMAGE) VERSION=$(RELEASE_VERSION) DOCKER_BUILD_ARGS="$(DOCKER_BUILD_ARGS)" scripts/kind/test-kind.sh

undeploy: ## helm uninstall the release (and its namespace when deploy created it)
	@scripts/kind/undeploy.sh

kind-down: ## Delete the KIND cluster, then `make engine-down`
	@scripts/kind/down.sh
