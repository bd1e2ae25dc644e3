# replica-api developer entry points. `make help` lists them.
# Two commands on a fresh machine: `make run` (serve the API) and `make test` (all suites).

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

DENO_VERSION := 2.9.6
TOOLS_DIR    := $(CURDIR)/.tools
# Use deno from PATH when present; otherwise the pinned one installed from the npm registry.
DENO ?= $(shell command -v deno 2>/dev/null || echo $(TOOLS_DIR)/deno/node_modules/.bin/deno)
CERTS_DIR    := $(CURDIR)/certs
export DENO

.PHONY: help deno deps certs client-cert revoke-cert run start test static test-unit test-integration test-browser screenshots contract-test fmt fmt-check lint check cluster-up cluster-down clean

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

$(TOOLS_DIR)/deno/node_modules/.bin/deno:
	@command -v npm >/dev/null || { echo "make: npm is required to install Deno (install Node.js/npm, or put deno $(DENO_VERSION) on PATH)"; exit 1; }
	@echo "installing deno $(DENO_VERSION) from the npm registry into $(TOOLS_DIR)/deno"
	@# Its own folder: Deno must never read this package.json (it would try to resolve other platforms' binaries).
	@mkdir -p $(TOOLS_DIR)/deno && echo '{"private":true}' > $(TOOLS_DIR)/deno/package.json
	@npm install --prefix $(TOOLS_DIR)/deno --no-audit --no-fund --loglevel=error deno@$(DENO_VERSION)
	@$@ --version | head -1

deno: $(if $(filter $(TOOLS_DIR)/%,$(DENO)),$(DENO)) ## Install Deno when it is not on PATH

deps: deno ## Fetch npm dependencies pinned by deno.lock
	@$(DENO) install --frozen --quiet

certs: ## Generate the dev PKI under certs/ (git-ignored; reused until near expiry)
	@certs/gen.sh $(CERTS_DIR)

# CN, O and DAYS reach the script through the environment (make exports command-line variables), never through
# the shell line, so no value can be read as shell syntax.
client-cert: ## Issue a short-lived client certificate: make client-cert CN=alice O=sre[,oncall] [DAYS=7] (max 30)
	@certs/clients.sh issue $(CERTS_DIR)

revoke-cert: ## Revoke every certificate issued to CN and re-sign certs/crl.pem: make revoke-cert CN=alice
	@certs/clients.sh revoke $(CERTS_DIR)

run: deps certs ## Run the service (against the KUBECONFIG cluster if reachable, else a local control plane with sample data)
	@scripts/run.sh

start: deps ## Run the service from environment variables and flags only (deno task start)
	@$(DENO) task start

# The stages run one after another through scripts/test.sh, which times each and ends with a table of them (also
# when one fails), while the KIND path's artifacts are built in the background at low priority once static is done (make kind-prepare).
test: ## Run every test suite (what CI runs): static checks, unit, chart, integration, browser, contract, KIND; then a table of stage times
	@MAKE="$(MAKE)" scripts/test.sh

# Formatting, lint and type-check, first and in seconds: CI runs exactly `make test`, so whatever is not in it
# can break unseen (a lint error once passed two green CI runs this way).
static: fmt-check lint check ## deno fmt --check, deno lint and deno check (the first step of make test)

test-unit: deps ## Unit tests (no cluster)
	@$(DENO) task test:unit

test-integration: deps ## Integration tests against a real kube-apiserver (starts the local control plane if needed)
	@scripts/integration-test.sh

test-browser: deps ## Console in headless Debian chromium (playwright-core, axe-core): installs chromium as root on Debian, else skips
	@scripts/browser-test.sh

screenshots: deps ## Console screenshots, light and dark, desktop and phone, into docs/screenshots/ (the browser suite's screenshot scenario)
	@SCREENSHOTS_DIR=$(CURDIR)/docs/screenshots BROWSER_SUITE_FILTER=screenshots scripts/browser-test.sh

contract-test: deps ## promtool on /metrics and schemathesis over api/openapi.json against the running service
	@scripts/contract-test.sh

# tests/browser/ and bench/console.ts have their own config (tests/browser/deno.json: playwright-core, axe-core).
BROWSER_CODE := --config tests/browser/deno.json tests/browser/ bench/console.ts

fmt: deno ## Format the code
	@$(DENO) fmt
	@$(DENO) fmt $(BROWSER_CODE)

fmt-check: deno ## Fail when the code is not formatted
	@$(DENO) fmt --check
	@$(DENO) fmt --check $(BROWSER_CODE)

lint: deno ## Lint the code
	@$(DENO) lint
	@$(DENO) lint $(BROWSER_CODE)

check: deps ## Type-check everything
	@$(DENO) task check

cluster-up: ## Start a local kube-apiserver + etcd (built from Go modules on first use)
	@tests/cluster/up.sh

cluster-down: ## Stop the local control plane and remove its data
	@tests/cluster/down.sh

clean: cluster-down ## Remove generated files (keeps the Go-built binaries in .cache/bin)
	@rm -rf node_modules $(TOOLS_DIR)

include mk/packaging.mk
include mk/bench.mk
