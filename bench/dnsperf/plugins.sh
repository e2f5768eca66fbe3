#!/usr/bin/env bash
# Cached QPS with and without the families plugin (1,000,000 listed names), side by side: bench/dnsperf/cached.sh
# runs `ananas serve` (pinned to one core) against a tiny NSD hierarchy and measures dnsperf throughput of cache
# hits; this script runs it ROUNDS times alternately without and with families and prints each QPS and the
# ratio of the medians. The queried names (h0..h99.bench) are not listed, so every hit passes through the
# plugin's request callback (a 1M-name suffix lookup) and is then answered from the cache.
# Each server first runs WARMUP seconds (default 10) under full load, unmeasured: the JIT tiers up the hot path
# while it runs, and with a plugin that path is longer (the sandbox, Wasmtime's .NET binding), so on a loaded
# 2-core VM the with-families server reaches its steady rate seconds after the one without plugins; without the
# warm-up a short round measures that ramp (per-second dnsperf rates show it: docs/BENCHMARKS.md, Plugins).
# Needs what cached.sh needs (nsd, dnsperf, root for NSD on port 53) and the guests (scripts/build-guests.sh).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
rounds="${ROUNDS:-3}"
export DURATION="${DURATION:-10}"
export WARMUP="${WARMUP:-10}"

"$root/scripts/build-guests.sh"
work="$(mktemp -d /tmp/ananas-plugins-bench-XXXXXX)"
trap 'rm -rf "$work"' EXIT
awk 'BEGIN { for (i = 0; i < 1000000; i++) printf "d%d.example-%d.com\n", i, i % 1000 }' >"$work/malware.txt"
families="[[plugin]]
name = \"families\"
module = \"$root/.build/guests/families.wasm\"
[plugin.data]
malware = \"domains:$work/malware.txt\""

qps() { awk '/Queries per second/ {print $4}' | tail -1; }
without=(); with=()
for r in $(seq 1 "$rounds"); do
  w="$(EXTRA_CONFIG="" "$root/bench/dnsperf/cached.sh" | tee "$work/without-$r.out" | grep -A8 '== throughput' | qps)"
  f="$(EXTRA_CONFIG="$families" "$root/bench/dnsperf/cached.sh" | tee "$work/with-$r.out" | grep -A8 '== throughput' | qps)"
  for run in without with; do
    echo "   $run families: $(grep -A8 '== throughput' "$work/$run-$r.out" | grep -E 'Queries lost|Response codes' | tr -s ' ' | tr '\n' ';')"
  done
  echo "round $r: without families $w q/s, with families $f q/s"
  without+=("$w"); with+=("$f")
done
median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
mw="$(median "${without[@]}")"; mf="$(median "${with[@]}")"
awk -v w="$mw" -v f="$mf" 'BEGIN { printf "median: without %.0f q/s, with families %.0f q/s, ratio %.3f\n", w, f, f / w }'
