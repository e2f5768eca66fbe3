# Sourced by cpu-per-query.sh and cached.sh: the small NSD hierarchy it resolves through and the measuring helpers.
# lab_start WORK AUTH CPU  writes root.zone (delegating `bench.`), bench.zone (h0..h99 A), queries.txt (the 100
#                          names), root.hints (pointing at AUTH:53) and nsd.conf into WORK, then starts NSD on
#                          AUTH:53 pinned to CPU; its pid is appended to the caller's `pids` array.
# ananas_config FILE WORK PORT [TOML]  writes an `ananas serve` config: one udp://127.0.0.1:PORT listener, the lab's
#                          root hints, validation off (the lab is unsigned), metrics and control off, log level
#                          warning, plus TOML (e.g. a [udp] table).
# cpu_seconds PID          user+system CPU seconds of PID (all threads) from /proc/PID/stat: finer than `ps -o time`.
# latency_summary FILE     median/p99/p99.9/max in ms of dnsperf -v output ("> NOERROR h1.bench A 0.000123").

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

lab_start() {
  local work="$1" auth="$2" cpu="$3"
  cat >"$work/root.zone" <<Z
\$TTL 86400
.           IN SOA a.root. hostmaster.root. 1 1800 900 604800 86400
.           IN NS  a.root.
a.root.     IN A   $auth
bench.      IN NS  ns.bench.
ns.bench.   IN A   $auth
Z
  {
    echo "\$ORIGIN bench."
    echo "\$TTL 86400"
    echo "@   IN SOA ns hostmaster 1 7200 3600 1209600 300"
    echo "@   IN NS  ns"
    echo "ns  IN A   $auth"
    for i in $(seq 0 99); do echo "h$i IN A 192.0.2.$((i + 1))"; done
  } >"$work/bench.zone"
  for i in $(seq 0 99); do echo "h$i.bench A"; done >"$work/queries.txt"
  cat >"$work/nsd.conf" <<C
server:
    ip-address: $auth
    port: 53
    username: ""
    chroot: ""
    zonesdir: "$work"
    pidfile: "$work/nsd.pid"
    database: ""
    zonelistfile: "$work/zone.list"
    xfrdfile: "$work/xfrd.state"
    xfrdir: "$work"
    logfile: "$work/nsd.log"
    server-count: 1
    verbosity: 1
remote-control:
    control-enable: no
zone:
    name: "."
    zonefile: "root.zone"
zone:
    name: "bench."
    zonefile: "bench.zone"
C
  printf '.  3600000 NS a.root.\na.root. 3600000 A %s\n' "$auth" >"$work/root.hints"
  local nsd
  nsd="$(command -v nsd || echo /usr/sbin/nsd)"
  taskset -c "$cpu" "$nsd" -c "$work/nsd.conf" -d >"$work/nsd.out" 2>&1 &
  pids+=($!)
}

ananas_config() {
  local file="$1" work="$2" port="$3" extra="${4:-}"
  cat >"$file" <<T
listen = ["udp://127.0.0.1:$port"]
root-hints = "$work/root.hints"
$extra
[dnssec]
validation = "off"
[metrics]
listen = ""
[control]
listen = ""
[log]
level = "warning"
T
}

cpu_seconds() {
  local hz
  hz="$(getconf CLK_TCK)"
  awk -v hz="$hz" '{ sub(/^.*\) /, ""); printf "%.2f", ($12 + $13) / hz }' "/proc/$1/stat"
}

latency_summary() {
  local file="$1" sorted n
  sorted="$(mktemp)"
  grep -E '^> ' "$file" | awk '{print $NF}' | sort -g >"$sorted"
  n="$(wc -l <"$sorted")"
  if [ "$n" -gt 0 ]; then
    awk -v n="$n" '{ v[NR] = $1 } END {
      i50 = int((50 * n + 99) / 100); i99 = int((99 * n + 99) / 100); i999 = int((999 * n + 999) / 1000)
      printf "%.3f %.3f %.3f %.3f\n", v[i50] * 1000, v[i99] * 1000, v[i999] * 1000, v[n] * 1000 }' "$sorted"
  else
    echo "- - - -"
  fi
  rm -f "$sorted"
}
