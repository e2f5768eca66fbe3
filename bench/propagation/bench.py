#!/usr/bin/env python3
"""bench/propagation/run: the zone pipeline end to end on loopback, with faults.

Starts a throwaway PostgreSQL cluster (scripts/postgres.sh), nats-server with JetStream, `ananas api serve` publishing
to NATS and EDGES `ananas auth serve --sync` edges (each bootstraps from the API's snapshot). Creates ZONES zones of
RECORDS A records through the API, then drives RATE record changes a second for SECONDS seconds (PATCH of an A
record's address, open loop, each record owned by one client thread so that the last acknowledged value is the
database's). Meanwhile `ananas probe` changes a TXT record every 100 ms and times until every edge answers it
(propagation per edge: p50/p99/max), and faults are injected:

  at 15% of the run   kill -9 one edge; start it again 10 s later (catch-up: until it holds what was committed
                      when it came back)
  at 50%              kill -9 nats-server and start it again (catch-up: until every edge holds what was committed then)
  at 75%              kill -9 the API (and its publisher) and start it again (catch-up: likewise)

After each catch-up it also times until the edges follow the head again (caught up within 0.3 s to what was committed
when they looked): the fault windows that the "outside the fault windows" figures leave out end there.

At the end it waits until every edge reached the last committed sequence, runs `ananas edge verify` on every edge
(0 differences wanted), asks every edge for every record (each must answer the last acknowledged address: 0 lost),
and checks each edge applied exactly the changes after its start (applied_total = last − first sequence: 0 applied
twice). Writes result.json and probe.jsonl to OUT (default: a temp directory) and prints the report.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from cpumeter import CpuMeter  # noqa: E402
from clients import Api, free_port, loopback, metrics, percentile  # noqa: E402
from report import collect, print_report  # noqa: E402


class Bench:
    def __init__(self, args):
        self.args = args
        self.work = Path(args.out) if args.out else Path(subprocess.check_output(["mktemp", "-d", "/tmp/ananas-propagation.XXXXXX"], text=True).strip())
        self.work.mkdir(parents=True, exist_ok=True)
        self.ananas = ["dotnet", args.ananas or str(ROOT / "src/Ananas/bin/Release/net10.0/ananas.dll")]
        self.env = dict(os.environ, ANANAS_STATE_DIR=str(self.work / "state"))
        self.procs: dict[str, subprocess.Popen] = {}
        self.events: list[str] = []
        self.t0 = time.monotonic()

    def log(self, text: str):
        line = f"[{time.monotonic() - self.t0:7.1f}s] {text}"
        self.events.append(line)
        print(line, file=sys.stderr, flush=True)

    def spawn(self, name: str, argv: list[str]):
        out = open(self.work / f"{name}.log", "ab")
        self.procs[name] = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=self.env, start_new_session=True)

    def kill9(self, name: str):
        proc = self.procs[name]
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()

    # --- the parts ---------------------------------------------------------------------------------------------
    def start_postgres(self):
        self.pg_dir = self.work / "pg"
        env = dict(self.env)
        if self.args.pg_stats:
            env["ANANAS_PG_OPTIONS"] = "-c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all"
        conn = subprocess.check_output([str(ROOT / "scripts/postgres.sh"), "start", str(self.pg_dir)], text=True, env=env).strip()
        self.database = "postgresql:" + conn
        self.pg_psql = ["psql", "-h", str(self.pg_dir), "-p", re.search(r"Port=(\d+)", conn).group(1), "-U", "ananas", "-d", "ananas", "-qAt"]
        if self.args.pg_stats:
            subprocess.run([*self.pg_psql, "-c", "CREATE EXTENSION pg_stat_statements"], check=True)

    def pg_statements(self):
        """Where PostgreSQL spent its time during the run (--pg-stats): the statements by total execution time."""
        if not self.args.pg_stats:
            return
        query = ("SELECT calls, round(total_exec_time::numeric, 1), round(mean_exec_time::numeric, 3), rows, left(regexp_replace(query, '\\s+', ' ', 'g'), 160) "
                 "FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 25")
        out = subprocess.run([*self.pg_psql, "-F", " | ", "-c", query], capture_output=True, text=True).stdout
        # Every statement, not only the 25 above (a statement whose text varies is many small entries): calls and time, the lock's wait apart.
        out += subprocess.run([*self.pg_psql, "-F", " | ", "-c", "SELECT sum(calls), round(sum(total_exec_time)::numeric, 1), NULL, sum(rows), 'ALL statements but the zone lock' "
                               "FROM pg_stat_statements WHERE query NOT LIKE '%pg_advisory_xact_lock%'"], capture_output=True, text=True).stdout
        tables = subprocess.run([*self.pg_psql, "-F", " | ", "-c", "SELECT relname, n_live_tup, n_dead_tup, n_tup_upd, n_tup_hot_upd, pg_relation_size(relid) "
                                 "FROM pg_stat_user_tables ORDER BY relname"], capture_output=True, text=True).stdout
        (self.work / "pg_stat_statements.txt").write_text("calls | total ms | mean ms | rows | statement\n" + out +
                                                          "\ntable | live | dead | updated | HOT updated | bytes\n" + tables)

    def start_nats(self):
        self.spawn("nats", ["nats-server", "-js", "-a", "127.0.0.1", "-p", str(self.nats_port), "-m", str(self.nats_monitor), "-sd", str(self.work / "nats")])
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", self.nats_port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("nats-server did not start")

    def start_api(self):
        self.spawn("api", [*self.ananas, "api", "serve", "--database", self.database, "--nats", f"nats://127.0.0.1:{self.nats_port}",
                           "--listen", f"http://127.0.0.1:{self.api_port}"])
        for _ in range(600):
            try:
                return self.api.call("GET", "/edge/status", timeout=2)
            except Exception:
                time.sleep(0.1)
        raise RuntimeError("the API did not start")

    def start_edge(self, i: int):
        addr = self.edges[i]
        self.spawn(f"edge{i}", [*self.ananas, "auth", "serve", "--store", str(self.work / f"edge{i}"), "--listen", f"udp://{addr}:53",
                                "--metrics-listen", f"http://{addr}:9153", "--sync", f"nats://127.0.0.1:{self.nats_port}", "--edge-id", f"edge{i}",
                                "--snapshot-api", f"http://127.0.0.1:{self.api_port}", "--snapshot-token", self.token])

    def applied(self, i: int) -> int:
        try:
            return int(metrics(self.edges[i]).get("ananas_edge_applied_sequence", -1))
        except OSError:
            return -1

    def committed(self) -> int:
        for _ in range(100):
            try:
                return int(self.api.call("GET", "/edge/status", timeout=2)["committed_sequence"])
            except Exception:
                time.sleep(0.1)
        raise RuntimeError("the API does not answer /edge/status")

    def wait_caught_up(self, target: int, edges, since: float, deadline: float = 180) -> float:
        """Seconds from `since` until every edge in `edges` applied `target`."""
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            if all(self.applied(i) >= target for i in edges):
                return time.monotonic() - since
            time.sleep(0.02)
        raise RuntimeError(f"edges {list(edges)} did not reach sequence {target} in {deadline} s")

    def wait_live(self, edges, since: float, round_limit: float = 0.3, deadline: float = 180) -> float:
        """Seconds from `since` until `edges` follow the head again: they applied what was committed when the round
        began within `round_limit` (caught up to the sequence at the restart, an edge still works off what came
        meanwhile)."""
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            began = time.monotonic()
            self.wait_caught_up(self.committed(), edges, began, max(1.0, end - began))
            if time.monotonic() - began <= round_limit:
                return time.monotonic() - since
        raise RuntimeError(f"edges {list(edges)} did not follow the head again in {deadline} s")

    # --- the run -----------------------------------------------------------------------------------------------
    def run(self):
        a = self.args
        self.nats_port, self.nats_monitor, self.api_port = free_port(), free_port(), free_port()
        self.start_postgres()
        self.start_nats()
        self.token = subprocess.check_output([*self.ananas, "api", "token", "create", "--all", "--database", self.database], env=self.env, text=True).split()[0]
        self.api = Api(self.api_port, self.token)
        self.start_api()
        self.log(f"PostgreSQL, NATS and the API up ({self.work})")

        # Zones and records; each record owned by one load thread.
        self.records = []  # (zone id, record id, owner)
        for z in range(a.zones):
            zone = self.api.call("POST", "/zones", {"name": f"zone{z}.bench", "name_servers": ["ns1.example.net"]})
            for r in range(a.records):
                rec = self.api.call("POST", f"/zones/{zone['id']}/dns_records", {"name": f"r{r}.zone{z}.bench", "type": "A", "content": "10.0.0.1", "ttl": 60})
                self.records.append((zone["id"], rec["id"], f"r{r}.zone{z}.bench"))
        # Per record: the last acknowledged address, plus any sent since without an answer (the API died mid-request:
        # it may or may not have committed). The database must hold one of them; every edge must answer what it holds.
        self.expected = {owner: {"10.0.0.1"} for _, _, owner in self.records}
        self.log(f"{a.zones} zones x {a.records} records created")
        if a.cpu:
            return self.cpu_per_change()

        self.edges = {i: loopback() for i in range(1, a.edges + 1)}
        for i in self.edges:
            self.start_edge(i)
        start = time.monotonic()
        target = self.committed()
        boot = self.wait_caught_up(target, self.edges, start)
        self.log(f"{a.edges} edges bootstrapped from the snapshot and at sequence {target} in {boot:.1f} s")
        self.first_sequence = {i: None for i in self.edges}

        probe_args = [*self.ananas, "probe", "--api", f"http://127.0.0.1:{self.api_port}", "--token", self.token, "--zone", "zone0.bench",
                      "--interval", "0.1", "--timeout", "30", "--output", str(self.work / "probe.jsonl")]
        for i, addr in self.edges.items():
            probe_args += ["--edge", f"edge{i}={addr}"]
        self.spawn("probe", probe_args)

        faults = threading.Thread(target=self.faults, daemon=True)
        self.catch_up: dict[str, float] = {}
        # (edge or None for all, start ms, end ms): from a kill until every edge it affects follows the head again (wait_live).
        self.fault_windows: list[tuple[str | None, float, float]] = []
        load_start = time.monotonic()
        faults.start()
        with CpuMeter(self) as meter:
            sent, failed = self.load(load_start)
            load_seconds = time.monotonic() - load_start
            faults.join()
        self.cpu = meter.per_change(sent)
        self.log(f"load done: {sent} changes acknowledged in {load_seconds:.1f} s ({sent / load_seconds:.0f}/s), {failed} refused or failed (API down)")

        time.sleep(2.0)  # the probe's last changes arrive
        self.kill9("probe")
        self.pg_statements()
        final = self.committed()
        converge = self.wait_caught_up(final, self.edges, time.monotonic())
        self.log(f"every edge at the last committed sequence {final} {converge:.1f} s after the load")
        return collect(self, final, sent, failed, load_seconds)

    def cpu_per_change(self) -> dict:
        """--cpu: no edges, no probe, no faults; CPU time (user+sys) of the API process and of this driver per change acknowledged."""
        def api_cpu() -> float:
            fields = Path(f"/proc/{self.procs['api'].pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        time.sleep(2.0)  # the API settles after the set-up requests
        idle0 = api_cpu()
        time.sleep(5.0)
        idle = (api_cpu() - idle0) / 5.0  # the API's CPU seconds per second with no requests (timers, publisher poll)
        api0, own0, start = api_cpu(), os.times(), time.monotonic()
        with CpuMeter(self) as meter:
            sent, failed = self.load(start)
            elapsed = time.monotonic() - start
        api1, own1 = api_cpu(), os.times()
        own = (own1.user + own1.system) - (own0.user + own0.system)
        result = {"command": " ".join(sys.argv), "acknowledged_changes": sent, "failed_requests": failed, "achieved_rate": sent / elapsed,
                  "api_cpu_ms_per_change": (api1 - api0) * 1000 / max(sent, 1), "api_idle_cpu_ms_per_s": idle * 1000, "driver_cpu_ms_per_change": own * 1000 / max(sent, 1),
                  "api_latency_ms": {"p50": percentile(self.latencies, 0.5) * 1000, "p99": percentile(self.latencies, 0.99) * 1000},
                  "cpu_during_load": meter.per_change(sent)}
        (self.work / "cpu.json").write_text(json.dumps(result, indent=2))
        return result

    def load(self, start: float) -> tuple[int, int]:
        a = self.args
        total = int(a.rate * a.seconds)
        lock = threading.Lock()
        counter = {"next": 0, "sent": 0, "failed": 0}
        self.errors: dict[str, int] = {}
        self.latencies: list[float] = []
        shares = [self.records[t::a.threads] for t in range(a.threads)]

        def worker(mine):
            rnd = random.Random()
            while True:
                with lock:
                    k = counter["next"]
                    counter["next"] += 1
                if k >= total or time.monotonic() >= start + a.seconds:
                    return  # the run lasts SECONDS whatever rate the API sustains
                due = start + k / a.rate
                delay = due - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                zone_id, record_id, owner = rnd.choice(mine)
                address = f"10.{rnd.randint(0, 255)}.{rnd.randint(0, 255)}.{rnd.randint(1, 254)}"
                sent_at = time.monotonic()
                try:
                    self.api.call("PATCH", f"/zones/{zone_id}/dns_records/{record_id}", {"content": address}, timeout=10)
                    self.expected[owner] = {address}
                    with lock:
                        counter["sent"] += 1
                        self.latencies.append(time.monotonic() - sent_at)
                except Exception as e:
                    if not isinstance(e, ConnectionRefusedError):
                        self.expected[owner].add(address)  # sent, outcome unknown
                    else:
                        time.sleep(0.01)  # the API is down: do not spin
                    kind = f"{type(e).__name__}: {str(e)[:80]}"
                    with lock:
                        counter["failed"] += 1
                        self.errors[kind] = self.errors.get(kind, 0) + 1

        threads = [threading.Thread(target=worker, args=(share,)) for share in shares]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return counter["sent"], counter["failed"]

    def faults(self):
        a = self.args
        if a.no_faults:
            return
        base = time.monotonic()
        victim = 3 if a.edges >= 3 else 1

        def at(fraction):
            delay = base + a.seconds * fraction - time.monotonic()
            if delay > 0:
                time.sleep(delay)

        faults = set(a.faults.split(","))
        if "edge" in faults:
            at(0.15)
            self.edge_fault(victim)
        if "nats" in faults:
            at(0.50)
            self.nats_fault()
        if "api" in faults:
            at(0.75)
            self.api_fault()

    def edge_fault(self, victim: int):
        down = time.time()
        self.kill9(f"edge{victim}")
        self.log(f"kill -9 edge{victim}")
        time.sleep(10)
        self.start_edge(victim)
        restarted = time.monotonic()
        target = self.committed()
        self.log(f"edge{victim} started again (committed sequence {target})")
        while self.applied(victim) < 0:  # the process is up when its metrics answer
            time.sleep(0.02)
        up = time.monotonic()
        self.catch_up[f"edge{victim} kill -9, down 10 s"] = self.wait_caught_up(target, [victim], restarted)
        self.catch_up[f"edge{victim} after its process was up"] = self.catch_up[f"edge{victim} kill -9, down 10 s"] - (up - restarted)
        self.log(f"edge{victim} caught up in {self.catch_up[f'edge{victim} kill -9, down 10 s']:.2f} s ({up - restarted:.2f} s of them starting the process)")
        self.catch_up[f"edge{victim} back to following the head"] = self.wait_live([victim], restarted)
        self.fault_windows.append((f"edge{victim}", down * 1000, time.time() * 1000))

    def nats_fault(self):
        down = time.time()
        self.kill9("nats")
        self.log("kill -9 nats-server")
        self.start_nats()
        restarted = time.monotonic()
        target = self.committed()
        self.log(f"nats-server started again (committed sequence {target})")
        self.catch_up["nats-server kill -9 + restart"] = self.wait_caught_up(target, self.edges, restarted)
        self.log(f"every edge caught up in {self.catch_up['nats-server kill -9 + restart']:.2f} s")
        self.catch_up["nats-server restart, edges back to following the head"] = self.wait_live(self.edges, restarted)
        self.fault_windows.append((None, down * 1000, time.time() * 1000))

    def api_fault(self):
        down = time.time()
        self.kill9("api")
        self.log("kill -9 the API (and its publisher)")
        self.start_api()
        restarted = time.monotonic()
        target = self.committed()
        self.log(f"the API started again (committed sequence {target})")
        self.catch_up["API/publisher kill -9 + restart"] = self.wait_caught_up(target, self.edges, restarted)
        self.log(f"every edge caught up in {self.catch_up['API/publisher kill -9 + restart']:.2f} s")
        self.catch_up["API restart, edges back to following the head"] = self.wait_live(self.edges, restarted)
        self.fault_windows.append((None, down * 1000, time.time() * 1000))

    def jsz(self) -> int | None:
        """Messages in the change stream (NATS monitoring)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.nats_monitor, timeout=5)
        conn.request("GET", "/jsz?streams=true")
        data = json.loads(conn.getresponse().read())
        for account in data.get("account_details", []):
            for stream in account.get("stream_detail", []):
                if stream["name"] == "ANANAS_EDGE":
                    return int(stream["state"]["messages"])
        return None

    def stop(self):
        for name, proc in self.procs.items():
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        if hasattr(self, "pg_dir"):
            subprocess.run([str(ROOT / "scripts/postgres.sh"), "stop", str(self.pg_dir)], check=False)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=1000)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--edges", type=int, default=5)
    parser.add_argument("--zones", type=int, default=10)
    parser.add_argument("--records", type=int, default=100)
    parser.add_argument("--threads", type=int, default=32)
    parser.add_argument("--no-faults", action="store_true", help="no kill/restart during the load (a short side-by-side measurement of throughput and latency)")
    parser.add_argument("--faults", default="edge,nats,api", help="which faults to inject, comma-separated (edge at 15%% of the run, nats at 50%%, api at 75%%)")
    parser.add_argument("--pg-stats", action="store_true", help="load pg_stat_statements and write PostgreSQL's statements by total time to OUT/pg_stat_statements.txt")
    parser.add_argument("--cpu", action="store_true", help="only the API (PostgreSQL, NATS, no edges, no probe, no faults): CPU ms per change of the API process and of the driver")
    parser.add_argument("--ananas", help="the ananas.dll to run (default: this tree's Release build)")
    parser.add_argument("--out", help="directory for logs, result.json and probe.jsonl (default: a temp directory)")
    args = parser.parse_args()
    if not args.ananas and (not (ROOT / "src/Ananas/bin/Release/net10.0/ananas.dll").exists() or os.environ.get("ANANAS_BENCH_BUILD", "1") == "1"):
        subprocess.run(["dotnet", "build", str(ROOT / "src/Ananas/Ananas.csproj"), "-c", "Release", "-nologo", "-v", "q"], check=True, stdout=sys.stderr)
    bench = Bench(args)
    try:
        result = bench.run()
    finally:
        bench.stop()
    if args.cpu:
        print(f"bench/propagation --cpu: {result['acknowledged_changes']} changes acknowledged ({result['achieved_rate']:.0f}/s, {result['failed_requests']} failed); "
              f"CPU per change: API {result['api_cpu_ms_per_change']:.3f} ms (idle: {result['api_idle_cpu_ms_per_s']:.1f} ms/s), driver {result['driver_cpu_ms_per_change']:.3f} ms; "
              f"PATCH p50 {result['api_latency_ms']['p50']:.1f} ms, p99 {result['api_latency_ms']['p99']:.1f} ms; "
              f"PostgreSQL {result['cpu_during_load'].get('postgres', {}).get('cpu_ms_per_change', float('nan')):.3f} ms, "
              f"nats-server {result['cpu_during_load'].get('nats', {}).get('cpu_ms_per_change', float('nan')):.3f} ms")
        return
    ok = print_report(result, args, bench.work)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
