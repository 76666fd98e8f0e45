#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# cachalot vs redis-server throughput, latency and CPU per request. See bench/README.md.
#   CACHALOT=build/control/cachalot BENCH_REQUESTS=200000 bench/run.sh
exec /usr/bin/python3 "$(dirname "${BASH_SOURCE[0]}")/bench.py" "$@"
