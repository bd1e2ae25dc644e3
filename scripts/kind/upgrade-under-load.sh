#!/usr/bin/env bash
# `make kind-upgrade-test`: only the KIND suite's "rolling upgrade under load" scenario against
# a deployed release (tests/kind/kind_test.ts): a load generator in the cluster sends fixed-rate
# keep-alive and new-connection traffic through the Service while `helm upgrade` rolls every
# Pod; it passes only with zero failed requests, and prints the rate, duration and failures.
set -euo pipefail
exec "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/integration-test.sh" --filter "rolling upgrade under load"
