#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for tests and benchmarks: `scripts/postgres.sh start DIR [PORT]` creates a cluster in
# DIR (initdb, trust authentication, no fsync), starts it on the unix socket directory DIR and 127.0.0.1:PORT (a free
# port when none is given), creates the database `ananas` and prints the Npgsql connection string on standard output.
# ANANAS_PG_OPTIONS adds server options (e.g. "-c shared_preload_libraries=pg_stat_statements" to profile).
# `scripts/postgres.sh stop DIR` stops it (then remove DIR). Exit 2 when PostgreSQL is not installed (callers skip).
set -euo pipefail
cmd="${1:-}"; dir="${2:-}"
if [ -z "$cmd" ] || [ -z "$dir" ]; then echo "usage: $0 start|stop DIR [PORT]" >&2; exit 64; fi

bin=""
for candidate in "$(dirname "$(readlink -f "$(command -v pg_ctl 2>/dev/null || echo /nonexistent/x)")")" /usr/lib/postgresql/*/bin; do
  if [ -x "$candidate/initdb" ] && [ -x "$candidate/pg_ctl" ] && [ -x "$candidate/postgres" ] && [ -x "$candidate/psql" ]; then bin="$candidate"; break; fi
done
if [ -z "$bin" ]; then echo "postgres.sh: PostgreSQL is not installed (initdb, pg_ctl); scripts/setup.sh installs it" >&2; exit 2; fi

# PostgreSQL refuses to run as root: as root, the cluster belongs to the `postgres` user.
as_owner() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

case "$cmd" in
  start)
    mkdir -p "$dir"
    dir="$(cd "$dir" && pwd)"
    if [ "$(id -u)" -eq 0 ]; then chown postgres "$dir"; chmod 0755 "$(dirname "$dir")" 2>/dev/null || true; fi
    as_owner "$bin/initdb" -D "$dir/data" -U ananas --auth=trust -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 ||
      { cat "$dir/initdb.log" >&2; exit 1; }
    port="${3:-}"
    for attempt in 1 2 3 4 5; do
      p="${port:-$((20000 + RANDOM % 40000))}"
      if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
           -o "-k $dir -p $p -h 127.0.0.1 -F -c max_connections=100 -c shared_buffers=16MB ${ANANAS_PG_OPTIONS:-}" start >/dev/null 2>&1; then
        as_owner "$bin/psql" -h "$dir" -p "$p" -U ananas -d postgres -qAtc "CREATE DATABASE ananas" >/dev/null
        echo "Host=$dir;Port=$p;Username=ananas;Database=ananas"
        exit 0
      fi
      [ -n "$port" ] && break
    done
    cat "$dir/server.log" >&2 2>/dev/null || true
    echo "postgres.sh: could not start PostgreSQL in $dir" >&2
    exit 1
    ;;
  stop)
    as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    ;;
  *) echo "usage: $0 start|stop DIR [PORT]" >&2; exit 64 ;;
esac
