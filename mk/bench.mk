# Benchmarks and fault runs (BENCHMARKS.md). Included by the Makefile, which provides DENO (exported)
# and the targets `deps` and `certs`. Both runs use their own local control plane (bench/cluster.sh:
# separate state folder and ports, binaries shared with tests/cluster), so they never disturb
# `make test`; they start it and stop it again (BENCH_KEEP_CLUSTER=1 keeps it).
#
#   make bench     throughput/latency vs the node:https ceiling, CPU profiles, 10,000-Deployment scale
#   make bench-workers  several serving isolates on one port against one (ceiling responder)
#   make bench-console  the console with 10,000 Deployments in headless Chromium (first render, filter keystroke)
#   make faults    soak (FAULTS_SOAK, default 5m), kube-apiserver/etcd faults and abusive clients under load
#
# Results: printed, and written to .cache/bench/results/ (Markdown + JSON, CPU profiles).
# Settings: see the headers of bench/bench.ts and bench/faults.ts (BENCH_DURATION, BENCH_ROUNDS, ...).

BENCH_CACHE_DIR := $(CURDIR)/.cache/bench
LOADGEN_BIN     := $(BENCH_CACHE_DIR)/loadgen
GOREF_BIN       := $(BENCH_CACHE_DIR)/goref
BENCH_GO        ?= $(shell command -v go 2>/dev/null || echo /usr/local/go/bin/go)
# --allow-all: the scripts read /proc (Deno asks for all permissions there) and run servers, kubectl and taskset anyway.
BENCH_DENO_RUN  := $(DENO) run --allow-all

.PHONY: bench-console bench-workers bench bench-throughput bench-memory bench-scale bench-revisions faults loadgen goref bench-cluster-down bench-check

# Standard library only: no module downloads. Rebuilt when its sources change.
$(LOADGEN_BIN): bench/loadgen/go.mod $(wildcard bench/loadgen/*.go)
	@mkdir -p $(BENCH_CACHE_DIR)
	@echo "building the load generator -> $@"
	@cd bench/loadgen && GOTOOLCHAIN=local CGO_ENABLED=0 $(BENCH_GO) build -trimpath -o $@ .

loadgen: $(LOADGEN_BIN) ## Build the Go mTLS load generator (.cache/bench/loadgen)

# The Go reference: net/http + a client-go informer, pinned to the control plane's Kubernetes version
# (tests/cluster/versions.env). Its modules come from the Go module proxy once; the build takes a few
# minutes of CPU on 2 cores, so it is cached here and rebuilt only when its sources change.
$(GOREF_BIN): bench/goref/go.mod bench/goref/go.sum $(wildcard bench/goref/*.go)
	@mkdir -p $(BENCH_CACHE_DIR)
	@echo "building the Go reference (client-go; minutes when cold) -> $@"
	@cd bench/goref && GOTOOLCHAIN=local CGO_ENABLED=0 $(BENCH_GO) build -trimpath -o $@ .

goref: $(GOREF_BIN) ## Build the Go reference server (net/http + client-go informer, .cache/bench/goref)

bench: deps $(LOADGEN_BIN) $(GOREF_BIN) ## Benchmarks: req/s and latency vs the node:https ceiling and the Go reference, memory, CPU profiles, 10k scale
	@$(BENCH_DENO_RUN) bench/bench.ts

bench-throughput: deps $(LOADGEN_BIN) $(GOREF_BIN) ## Only the throughput table and CPU profiles of make bench
	@$(BENCH_DENO_RUN) bench/bench.ts throughput profile

bench-memory: deps $(LOADGEN_BIN) $(GOREF_BIN) ## Only the memory table of make bench (RSS idle and under every load mode)
	@$(BENCH_DENO_RUN) bench/bench.ts memory

bench-scale: deps $(LOADGEN_BIN) ## Only the 10,000-Deployment scale part of make bench
	@$(BENCH_DENO_RUN) bench/bench.ts scale

# Issue 19: idle RSS, heap and time to ready with 10,000 Deployments, without and with the trimmed ReplicaSet
# informer (30,000 ReplicaSets, 3 revisions each), 2 rounds alternating; its own control plane, stopped after.
bench-revisions: deps ## RSS/heap/ready with 10k Deployments, without vs with 30k ReplicaSets (bench/revisions_memory.ts)
	@env="$$(bench/cluster.sh up)" && $(BENCH_DENO_RUN) bench/revisions_memory.ts "$$env" $${BENCH_ROUNDS:-2}; rc=$$?; \
	  [ -n "$${BENCH_KEEP_CLUSTER:-}" ] || bench/cluster.sh down >/dev/null; exit $$rc

# Issue 20: the console with 10,000 Deployments in headless Chromium: first render and per-keystroke filter time from
# the page's performance marks (not a timed test); its own control plane, stopped after (BENCH_KEEP_CLUSTER=1 keeps it).
bench-console: deps ## The console with 10k Deployments in headless Chromium: first render, filter keystroke (bench/console.ts)
	@why="$$(scripts/chromium.sh)" || { rc=$$?; [ $$rc = 3 ] && { echo "$${why/#SKIP: /SKIP: bench-console: }"; exit 0; }; exit $$rc; }; \
	  $(BENCH_DENO_RUN) --config tests/browser/deno.json --frozen bench/console.ts; rc=$$?; [ -n "$${BENCH_KEEP_CLUSTER:-}" ] || bench/cluster.sh down >/dev/null; exit $$rc

bench-workers: deps $(LOADGEN_BIN) ## Several serving isolates on one port vs one, each answering or forwarding to the main isolate (bench/workers.ts)
	@$(BENCH_DENO_RUN) bench/workers.ts

faults: deps $(LOADGEN_BIN) ## Soak at half of peak (FAULTS_SOAK=5m), API server/etcd faults and abusive clients, under load
	@$(BENCH_DENO_RUN) bench/faults.ts

bench-cluster-down: ## Stop the benchmarks' own control plane (if BENCH_KEEP_CLUSTER=1 left it running)
	@bench/cluster.sh down

bench-check: deps ## Type-check and lint the benchmark scripts, vet and unit-test the load generator (fast, no cluster)
	@$(DENO) check bench/*.ts
	@$(DENO) lint bench/
	@cd bench/loadgen && GOTOOLCHAIN=local $(BENCH_GO) vet . && GOTOOLCHAIN=local $(BENCH_GO) test ./...
	@cd bench/goref && GOTOOLCHAIN=local $(BENCH_GO) vet .
