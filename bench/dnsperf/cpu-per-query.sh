#!/usr/bin/env bash
# Cached UDP answers, CPU per query: Ananas (synchronous ReceiveFrom loop and the recvmmsg/sendmmsg batch loop)
# and Unbound side by side, serving the same 100 cached names resolved once from the same NSD hierarchy
# (lab.sh). Each server runs alone, pinned with taskset to SERVER_CPU with one receive thread; NSD and dnsperf
# are pinned to LOAD_CPU. Per server: warm-up passes (3 s flat out, 3 s at the first fixed rate), then for each
# of RATES a dnsperf run of DURATION seconds (`-c 4 -T 2`, plus `-Q RATE -v` at fixed rates; "max" = unlimited,
# no -v so dnsperf keeps up).
# Prints one row per run: QPS, server CPU seconds per 100k answered queries (utime+stime deltas of the server
# process), its share of the core, and median/p99 latency (fixed rates; dnsperf's average at "max").
# floor-c and floor-c-mmsg (floor/floor.c, built here with the system's C compiler) answer every query with a fixed
# A record and no DNS work, with recvfrom/sendto per datagram and with recvmmsg/sendmmsg batches: the kernel's floor.
# Env: SERVERS="ananas-sync ananas-batch unbound" RATES="20000 50000 max" DURATION=10 BATCH=32 ROUNDS=1
#      DNSPERFS=2: at "max", that many dnsperf processes at once on LOAD_CPU (QPS summed); each row at "max" gives the
#      load's CPU per answer and share of its core (perf stat task-clock of the dnsperf processes) and how busy that
#      core was (/proc/stat), to tell a load-bound run from a server-bound one.
#      BASE_ANANAS=LAUNCHER: server `base-batch` is ananas-batch run by that launcher (another build's ./ananas), for a
#      before/after of a change side by side.
#      PERF=1: `perf record` the server during each run and print its top symbols (.NET frames named through
#      DOTNET_PerfMapEnabled=1); the profiler's own cost inflates those runs' CPU figures.
#      PERF=stat: `perf stat` the server during each run; prints its context switches, migrations and syscalls per
#      answered query (all its threads).
#      PERF=trace: `perf trace -s` the server during each run: its syscalls by thread (WORK/NAME-RATE.trace, printed).
#      PERF=sched: record the scheduler's switches on the server's core (perf script -i WORK/NAME-RATE.sched), to
#      see which threads take the core from the receive loop. KEEP=1 keeps WORK, with each run's dnsperf output.
# Needs: nsd, dnsperf, unbound (installed through scripts/setup.sh if missing), root for NSD on port 53.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
here="$root/bench/dnsperf"
. "$here/lab.sh"
duration="${DURATION:-10}"
rates="${RATES:-20000 50000 max}"
servers="${SERVERS:-ananas-sync ananas-batch unbound}"
batch="${BATCH:-32}"
rounds="${ROUNDS:-1}"
dnsperfs="${DNSPERFS:-1}"
server_cpu="${SERVER_CPU:-0}"
load_cpu="${LOAD_CPU:-1}"

command -v unbound >/dev/null 2>&1 || [ -x /usr/sbin/unbound ] || ANANAS_APT_PACKAGES=unbound "$root/scripts/setup.sh"
unbound_bin="$(command -v unbound || echo /usr/sbin/unbound)"

work="$(mktemp -d /tmp/ananas-cpq-XXXXXX)"
pids=()
server=""
stop_server() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  server=""
}
cleanup() {
  stop_server
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  [ -n "${KEEP:-}" ] && echo "kept $work" || rm -rf "$work"
}
trap cleanup EXIT

auth="127.53.$((RANDOM % 250 + 1)).$((RANDOM % 250 + 1))"
lab_start "$work" "$auth" "$load_cpu"
# Build before anything is timed or pinned (the launcher builds Release when sources changed).
[[ " $servers " == *" ananas-"* ]] && "$root/ananas" version >/dev/null
if [[ " $servers " == *" base-batch "* ]]; then
  [ -x "${BASE_ANANAS:-}" ] || { echo "base-batch needs BASE_ANANAS=<another build's ananas launcher>" >&2; exit 2; }
  "$BASE_ANANAS" version >/dev/null
fi
if [[ " $servers " == *" floor-c"* ]]; then
  cc="$(command -v cc || command -v gcc || command -v clang)"
  "$cc" -O2 -Wall -o "$work/floor" "$here/floor/floor.c"
fi

core_busy() { # CPU seconds CPU N spent on anything but idle, from /proc/stat
  awk -v cpu="cpu$1" -v hz="$(getconf CLK_TCK)" '$1 == cpu { printf "%.2f", ($2 + $3 + $4 + $7 + $8) / hz }' /proc/stat
}

start_server() { # NAME PORT: starts it pinned, sets $server to the pid whose CPU is measured
  local name="$1" port="$2"
  case "$name" in
    ananas-*|base-batch)
      local size=1 launcher="$root/ananas"
      [ "$name" != ananas-sync ] && size="$batch"
      [ "$name" = base-batch ] && launcher="$BASE_ANANAS"
      # In a directory of its own: `serve` watches its config file's directory for reloads, and dnsperf -v writing
      # run.out beside it would wake the server (and bill it CPU) thousands of times a second.
      mkdir -p "$work/conf"
      ananas_config "$work/conf/ananas.toml" "$work" "$port" "$(printf '[udp]\nsockets = 1\nthreads-per-socket = 1\nbatch-size = %s' "$size")"
      # the launcher execs dotnet, so $! is the server process itself
      # W^X off: with it, JIT code runs from a double mapping perf cannot match against the perf map
      [ -n "${PERF:-}" ] && export DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0
      taskset -c "$server_cpu" "$launcher" serve --config "$work/conf/ananas.toml" >"$work/$name.out" 2>&1 &
      server=$!
      ;;
    unbound)
      sed -e "s|@WORK@|$work|g" -e "s|@PORT@|$port|g" "$here/unbound.conf" >"$work/unbound.conf"
      taskset -c "$server_cpu" "$unbound_bin" -d -c "$work/unbound.conf" >"$work/$name.out" 2>&1 &
      server=$!
      ;;
    floor-c|floor-c-mmsg) # the kernel's floor: a C responder that answers with a fixed A record (floor/floor.c)
      local mode=sync
      [ "$name" = floor-c-mmsg ] && mode=mmsg
      taskset -c "$server_cpu" "$work/floor" 127.0.0.1 "$port" "$mode" "$batch" >"$work/$name.out" 2>&1 &
      server=$!
      ;;
    *) echo "unknown server $name" >&2; exit 2 ;;
  esac
  for _ in $(seq 1 100); do
    dig +short +tries=1 +time=1 -p "$port" @127.0.0.1 h0.bench A 2>/dev/null | grep -q 192.0.2.1 && return 0
    sleep 0.2
  done
  echo "$name not answering"; cat "$work/$name.out" "$work/nsd.out"; exit 1
}

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(uname -sr)"
echo "== dnsperf $(dnsperf -h 2>&1 | awk '/^Version/ {print $2}'), unbound $("$unbound_bin" -V | awk '/^Version/ {print $2}'), batch-size $batch, ${duration}s per run, server on CPU $server_cpu, NSD + dnsperf on CPU $load_cpu"
echo "== load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-13s %-6s %9s %10s %12s %7s %9s %9s %s\n' server rate QPS answered "CPUs/100k" core% "p50 ms" "p99 ms" "(max: avg ms)"
for round in $(seq 1 "$rounds"); do
  for name in $servers; do
    port="$(free_port)"
    start_server "$name" "$port"
    taskset -c "$load_cpu" dnsperf -s 127.0.0.1 -p "$port" -d "$work/queries.txt" -n 1 -c 1 -q 10 >"$work/warm.out" 2>&1
    # then 3 s flat out, unmeasured: every server is measured warm (for .NET: the JIT's tiers have settled)
    taskset -c "$load_cpu" dnsperf -s 127.0.0.1 -p "$port" -d "$work/queries.txt" -l 3 -c 4 -T 2 >"$work/warm.out" 2>&1
    # and 3 s at the first fixed rate: a server at a fixed rate takes paths that flat out it does not (one datagram
    # per receive, the idle wait); .NET's tiered JIT recompiles those during the first seconds, and each burst of
    # compilation stalls the only core for milliseconds (seen with PERF=sched: p99 0.5-1.5 ms in a first fixed-rate
    # run, 0.17-0.26 ms in the next ones).
    for rate in $rates; do
      if [ "$rate" != max ]; then
        taskset -c "$load_cpu" dnsperf -s 127.0.0.1 -p "$port" -d "$work/queries.txt" -l 3 -c 4 -T 2 -Q "$rate" >"$work/warm.out" 2>&1
        break
      fi
    done
    for rate in $rates; do
      args=(-s 127.0.0.1 -p "$port" -d "$work/queries.txt" -l "$duration" -c 4 -T 2)
      [ "$rate" != max ] && args+=(-Q "$rate" -v)
      perf_pid=""
      if [ "${PERF:-}" = stat ]; then
        perf stat -x, -e task-clock,context-switches,cpu-migrations,raw_syscalls:sys_enter -p "$server" -o "$work/$name-$rate.stat" >/dev/null 2>&1 &
        perf_pid=$!
      elif [ "${PERF:-}" = trace ]; then
        perf trace -s -p "$server" -o "$work/$name-$rate.trace" >/dev/null 2>&1 &
        perf_pid=$!
      elif [ "${PERF:-}" = sched ]; then
        perf record -q -e sched:sched_switch -C "$server_cpu" -o "$work/$name-$rate.sched" >/dev/null 2>&1 &
        perf_pid=$!
      elif [ -n "${PERF:-}" ]; then
        perf record -q -F 1999 -g -p "$server" -o "$work/$name.perf" >/dev/null 2>&1 &
        perf_pid=$!
      fi
      # At "max", DNSPERFS processes at once (all on LOAD_CPU), each under `perf stat` when perf is there: the load's
      # CPU seconds show whether the load side or the server was the limit.
      n=1
      [ "$rate" = max ] && n="$dnsperfs"
      load_pids=()
      t0="$(date +%s.%N)"
      b0="$(core_busy "$load_cpu")"
      c0="$(cpu_seconds "$server")"
      for k in $(seq 1 "$n"); do
        if [ "$rate" = max ] && command -v perf >/dev/null 2>&1; then
          taskset -c "$load_cpu" perf stat -x, -e task-clock -o "$work/load.$k.stat" dnsperf "${args[@]}" >"$work/run.$k.out" 2>&1 &
        else
          rm -f "$work/load.$k.stat"
          taskset -c "$load_cpu" dnsperf "${args[@]}" >"$work/run.$k.out" 2>&1 &
        fi
        load_pids+=($!)
      done
      for p in "${load_pids[@]}"; do wait "$p"; done
      c1="$(cpu_seconds "$server")"
      b1="$(core_busy "$load_cpu")"
      t1="$(date +%s.%N)"
      cp "$work/run.1.out" "$work/run.out"
      answered="$(awk '/Queries completed/ { s += $3 } END { print s }' "$work"/run.[0-9]*.out)"
      qps="$(awk '/Queries per second/ { s += $4 } END { printf "%.0f", s }' "$work"/run.[0-9]*.out)"
      load_cpu_s="$(awk -F, '$3 == "task-clock" { s += $1 } END { if (s) printf "%.2f", s / 1000 }' "$work"/load.*.stat 2>/dev/null || true)"
      rm -f "$work"/run.[0-9]*.out "$work"/load.*.stat
      [ -n "${KEEP:-}" ] && cp "$work/run.out" "$work/$name-$rate.run.out"
      if [ -n "$perf_pid" ]; then
        kill -INT "$perf_pid"; wait "$perf_pid" 2>/dev/null || true
        [ "$PERF" = sched ] || [ "$PERF" = stat ] || [ "$PERF" = trace ] || { perf report -i "$work/$name.perf" --no-children --sort dso --stdio -g none 2>/dev/null | grep -E "^ +[0-9]" | head -8
          perf report -i "$work/$name.perf" --no-children --sort dso,sym --percent-limit 0.7 --stdio -g none 2>/dev/null \
          | grep -E "^ +[0-9]" | head -40; } >"$work/$name-$rate.perf.txt" || true
      fi
      load=""
      if [ "$rate" = max ]; then
        lat="$(awk '/Average Latency/ {printf "- - %.3f", $4 * 1000}' "$work/run.out")"
        [ -n "$load_cpu_s" ] && load="; load: $n dnsperf, $(awk -v c="$load_cpu_s" -v q="$answered" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f CPU s/100k, %.0f%% of its core", c * 100000 / q, c * 100 / (b - a) }') (busy $(awk -v a="$b0" -v b="$b1" -v s="$t0" -v e="$t1" 'BEGIN { printf "%.0f", (b - a) * 100 / (e - s) }')%)"
      else
        read -r p50 p99 _ _ <<<"$(latency_summary "$work/run.out")"
        lat="$p50 $p99"
      fi
      # A fixed-rate run that fell short of its rate (dnsperf starved of its core on a shared machine), or whose p99
      # passed 20 ms (the server was off its core that long, so queries piled up and it measured batches, not the
      # rate), measured something else: printed, but left out of the medians.
      awk -v name="$name" -v rate="$rate" -v qps="$qps" -v q="$answered" -v a="$c0" -v b="$c1" -v d="$duration" -v lat="$lat" -v load="$load" \
        'BEGIN { split(lat, l, " "); l[3] = l[3] load; short = rate == "max" ? "" : qps < 0.97 * rate ? "(short of the rate: not in the medians)" : l[2] + 0 > 20 ? "(p99 over 20 ms: not in the medians)" : ""
          printf "%-13s %-6s %9d %10d %12.3f %6.0f%% %9s %9s %s%s\n", name, rate, qps, q, (b - a) * 100000 / q, (b - a) * 100 / d, l[1], l[2], l[3], short }' \
        | tee -a "$work/rows.txt"
      if [ "${PERF:-}" = stat ]; then
        awk -F, -v q="$answered" '$3 == "context-switches" { cs = $1 } $3 == "cpu-migrations" { mig = $1 } $3 ~ /sys_enter/ { sc = $1 }
          END { printf "   perf stat: %.3f context switches, %.3f migrations, %.3f syscalls per answered query\n", cs / q, mig / q, sc / q }' \
          "$work/$name-$rate.stat" | tee -a "$work/stats.txt"
      fi
      if ! grep -q 'NOERROR' "$work/run.out" || grep -qE 'SERVFAIL|REFUSED|FORMERR' "$work/run.out"; then
        grep -E 'Response codes' "$work/run.out" | sed 's/^/   /'
      fi
    done
    stop_server
  done
done
# Medians over the rounds, and each server's CPU per query and QPS relative to Unbound's.
if [ "$rounds" -gt 1 ] || [[ " $servers " == *" unbound "* ]]; then
  echo "== medians over $rounds round(s); ratio = server / unbound (CPU per query: below 1 is cheaper; QPS: above 1 is faster)"
  awk -v rounds="$rounds" '
    function median(list,   n, v, i, j, t) {
      n = split(list, v, " ")
      for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j - 1] + 0 > v[j] + 0; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
      return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2 }
    /not in the medians/ { next }
    { key = $1 " " $2; if (!(key in seen)) { seen[key] = 1; order[++k] = key }
      qps[key] = qps[key] " " $3; cpu[key] = cpu[key] " " $5; p50[key] = p50[key] " " $7; p99[key] = p99[key] " " $8 }
    END {
      printf "%-13s %-6s %9s %12s %9s %9s %10s %10s\n", "server", "rate", "QPS", "CPUs/100k", "p50 ms", "p99 ms", "CPU ratio", "QPS ratio"
      for (i = 1; i <= k; i++) {
        key = order[i]; split(key, kk, " "); ref = "unbound " kk[2]
        c = median(cpu[key]); q = median(qps[key])
        cr = (ref in cpu) ? sprintf("%.2f", c / median(cpu[ref])) : "-"
        qr = (ref in qps) ? sprintf("%.2f", q / median(qps[ref])) : "-"
        lat50 = p50[key] ~ /[0-9]/ ? sprintf("%.3f", median(p50[key])) : "-"
        lat99 = p99[key] ~ /[0-9]/ ? sprintf("%.3f", median(p99[key])) : "-"
        printf "%-13s %-6s %9d %12.3f %9s %9s %10s %10s\n", kk[1], kk[2], q, c, lat50, lat99, cr, qr
      }
    }' "$work/rows.txt"
fi
if [ "${PERF:-}" = trace ]; then
  for f in "$work"/*.trace; do echo "== perf trace -s, $(basename "$f" .trace)"; grep -vE '^\s*$' "$f"; done
fi
if [ -n "${PERF:-}" ]; then
  for name in $servers; do
    for rate in $rates; do
      [ -f "$work/$name-$rate.perf.txt" ] && { echo "== perf, $name at $rate (self time by dso, then by symbol)"; cat "$work/$name-$rate.perf.txt"; }
    done
  done
fi
echo "== load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
