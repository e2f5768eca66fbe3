#!/usr/bin/env bash
# Cached-answer benchmark: `ananas serve` on 127.0.0.1 (random port, metrics/control off) recursing to a tiny NSD
# hierarchy (root + `bench.` with 100 names) on a random loopback address; one warm-up pass (then, if WARMUP is
# set, that many seconds under load, unmeasured), then dnsperf:
#   1. throughput: dnsperf -l 10 -c 4 -T 2 (as many queries as the server answers)
#   2. fixed rate: -Q 20000 with -v (per-query latency -> median/p99) and the server's CPU seconds per 100k queries
# The server and dnsperf are pinned to different cores with taskset (server: CPU 0, dnsperf: CPU 1).
# Needs: nsd and dnsperf (scripts/setup.sh), root or CAP_NET_BIND_SERVICE for NSD on port 53 (root hints carry no port).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
duration="${DURATION:-10}"
rate="${RATE:-20000}"
server_cpu="${SERVER_CPU:-0}"
load_cpu="${LOAD_CPU:-1}"

work="$(mktemp -d /tmp/ananas-bench-XXXXXX)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# shellcheck source=lab.sh
. "$root/bench/dnsperf/lab.sh"
auth="127.53.$((RANDOM % 250 + 1)).$((RANDOM % 250 + 1))"
port="$(free_port)"
lab_start "$work" "$auth" "$load_cpu"
# Extra configuration (bench/dnsperf/plugins.sh adds a [[plugin]] this way).
ananas_config "$work/ananas.toml" "$work" "$port" "${EXTRA_CONFIG:-}"

# Build first (the launcher builds Release when sources changed) so the build is not timed or pinned.
"$root/ananas" --help >/dev/null 2>&1 || true
taskset -c "$server_cpu" "$root/ananas" serve --config "$work/ananas.toml" >"$work/ananas.out" 2>&1 &
server=$!
pids+=($server)

for _ in $(seq 1 100); do
  dig +short +tries=1 +time=1 -p "$port" @127.0.0.1 h0.bench A 2>/dev/null | grep -q 192.0.2.1 && break
  sleep 0.2
done
dig +short +tries=1 +time=1 -p "$port" @127.0.0.1 h0.bench A | grep -q 192.0.2.1 || { echo "server not answering"; cat "$work/ananas.out" "$work/nsd.out"; exit 1; }
# The dotnet host runs ananas.dll: that process is $server itself (exec in the launcher).

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(uname -sr)"
echo "== load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== warm-up: one pass of $(wc -l <"$work/queries.txt") names"
taskset -c "$load_cpu" dnsperf -s 127.0.0.1 -p "$port" -d "$work/queries.txt" -n 1 -c 1 -q 10 >"$work/warm.out" 2>&1
grep -E 'Queries (sent|completed)|NOERROR' "$work/warm.out" | sed 's/^/   /'
# WARMUP=SECONDS: that long under full load first, unmeasured, so the JIT has tiered up the hot path (plugins.sh
# sets it: with a plugin the hot path has more methods and reaches steady speed seconds later).
if [ "${WARMUP:-0}" != 0 ]; then
  echo "== warm-up under load: dnsperf -l $WARMUP -c 4 -T 2 (not measured)"
  taskset -c "$load_cpu" dnsperf -s 127.0.0.1 -p "$port" -d "$work/queries.txt" -l "$WARMUP" -c 4 -T 2 >"$work/warm.out" 2>&1
fi

echo "== throughput: dnsperf -s 127.0.0.1 -p PORT -d queries.txt -l $duration -c 4 -T 2 (pinned to CPU $load_cpu; server on CPU $server_cpu)"
c0="$(cpu_seconds "$server")"
taskset -c "$load_cpu" dnsperf -s 127.0.0.1 -p "$port" -d "$work/queries.txt" -l "$duration" -c 4 -T 2 >"$work/max.out" 2>&1
c1="$(cpu_seconds "$server")"
grep -E 'Queries (sent|completed|lost)|Response codes|Queries per second|Average Latency|Latency StdDev' "$work/max.out" | sed 's/^/   /'
done_max="$(awk '/Queries completed/ {print $3}' "$work/max.out")"
awk -v a="$c0" -v b="$c1" -v q="$done_max" 'BEGIN { printf "   server CPU: %.2f s for %d queries = %.2f CPU s per 100k queries\n", b - a, q, (b - a) * 100000 / q }'

echo "== fixed rate: dnsperf ... -l $duration -c 4 -T 2 -Q $rate -v"
c0="$(cpu_seconds "$server")"
taskset -c "$load_cpu" dnsperf -s 127.0.0.1 -p "$port" -d "$work/queries.txt" -l "$duration" -c 4 -T 2 -Q "$rate" -v >"$work/fixed.out" 2>&1
c1="$(cpu_seconds "$server")"
grep -E 'Queries (sent|completed|lost)|Response codes|Queries per second|Average Latency|Latency StdDev' "$work/fixed.out" | sed 's/^/   /'
done_fixed="$(awk '/Queries completed/ {print $3}' "$work/fixed.out")"
read -r p50 p99 p999 max <<<"$(latency_summary "$work/fixed.out")"
echo "   latency: median $p50 ms, p99 $p99 ms, p99.9 $p999 ms, max $max ms"
awk -v a="$c0" -v b="$c1" -v q="$done_fixed" 'BEGIN { if (q > 0) printf "   server CPU: %.2f s for %d queries = %.2f CPU s per 100k queries (%.0f%% of one core)\n", b - a, q, (b - a) * 100000 / q, (b - a) * 100 / '"$duration"' }'
echo "== load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
