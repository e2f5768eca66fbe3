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
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from cpumeter import CpuMeter  # noqa: E402


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def loopback() -> str:
    while True:
        addr = f"127.{random.randint(100, 249)}.{random.randint(0, 255)}.{random.randint(1, 254)}"
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.bind((addr, 53))
            return addr
        except OSError:
            continue


class Api:
    """The zone API over one keep-alive connection per thread."""

    def __init__(self, port: int, token: str):
        self.port, self.token, self.local = port, token, threading.local()

    def call(self, method: str, path: str, body=None, timeout: float = 10.0):
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = self.local.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        try:
            conn.request(method, path, json.dumps(body) if body is not None else None, headers)
            response = conn.getresponse()
            data = json.loads(response.read() or b"{}")
        except (OSError, http.client.HTTPException, ValueError):
            conn.close()
            self.local.conn = None
            raise
        if not data.get("success"):
            raise RuntimeError(f"{method} {path}: {data.get('errors')}")
        return data["result"]


def dns_query(addr: str, name: str, qtype: int, timeout: float = 1.0) -> list[bytes]:
    """RDATA of the answers (our own minimal client: one UDP question, no recursion)."""
    qid = random.randint(0, 65535)
    q = struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\0" + struct.pack(">HH", qtype, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(q, (addr, 53))
        data = s.recv(4096)
    an = struct.unpack(">H", data[6:8])[0]
    p = len(q)
    out = []
    for _ in range(an):
        while True:  # owner (compressed or not)
            b = data[p]
            if b >= 0xC0:
                p += 2
                break
            p += 1 + b
            if b == 0:
                break
        rtype, _, _, rdlen = struct.unpack(">HHIH", data[p:p + 10])
        p += 10
        if rtype == qtype:
            out.append(data[p:p + rdlen])
        p += rdlen
    return out


def metrics(addr: str, port: int = 9153) -> dict[str, float]:
    conn = http.client.HTTPConnection(addr, port, timeout=5)
    conn.request("GET", "/metrics")
    text = conn.getresponse().read().decode()
    conn.close()
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            try:
                values[key] = float(value)
            except ValueError:
                pass
    return values


def histogram_quantiles(values: dict[str, float], name: str) -> dict[str, float]:
    """p50/p99 of a Prometheus histogram (ms): the upper bound of the bucket they fall in, and the estimate
    interpolated linearly inside that bucket (as PromQL's histogram_quantile does); and the count."""
    buckets = sorted((float(k.split('le="')[1].rstrip('"}')), v) for k, v in values.items() if k.startswith(name + "_bucket"))
    count = values.get(name + "_count", 0)
    out = {"count": count}
    for q in (0.5, 0.99):
        rank, lower, below = q * count, 0.0, 0.0
        out[f"p{int(q * 100)}_ms_at_most"] = out[f"p{int(q * 100)}_ms"] = float("inf")
        for le, c in buckets:
            if c >= rank and count > 0:
                out[f"p{int(q * 100)}_ms_at_most"] = le * 1000
                if le != float("inf"):
                    out[f"p{int(q * 100)}_ms"] = (lower + (le - lower) * (rank - below) / max(c - below, 1)) * 1000
                break
            lower, below = le, c
    return out


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, max(0, int(round(q * len(values) + 0.5)) - 1))]


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
        # (edge or None for all, start ms, end ms): from a kill until every edge it affects caught up again.
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
        return self.report(final, sent, failed, load_seconds)

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
        self.fault_windows.append((None, down * 1000, time.time() * 1000))

    def report(self, final: int, sent: int, failed: int, load_seconds: float) -> dict:
        a = self.args
        probes: dict[str, list[float]] = {f"edge{i}": [] for i in self.edges}
        after_ack: dict[str, list[float]] = {f"edge{i}": [] for i in self.edges}
        timeouts = {f"edge{i}": 0 for i in self.edges}
        # The same, without the changes sent while a fault affected the edge (from the kill until it caught up).
        outside: dict[str, list[float]] = {f"edge{i}": [] for i in self.edges}
        with open(self.work / "probe.jsonl") as f:
            for line in f:
                m = json.loads(line)
                if m["seconds"] is None:
                    timeouts[m["edge"]] += 1
                else:
                    probes[m["edge"]].append(m["seconds"])
                    sent_ms = m["unix_ms"]
                    if not any((who is None or who == m["edge"]) and start <= sent_ms <= end for who, start, end in self.fault_windows):
                        outside[m["edge"]].append(m["seconds"])
                    if m.get("api_seconds") is not None:
                        after_ack[m["edge"]].append(max(0.0, m["seconds"] - m["api_seconds"]))
        # Per fault: the slowest probe sent in its window (kill until caught up), over the edges it affects.
        window_max = []
        with open(self.work / "probe.jsonl") as f:
            rows = [json.loads(line) for line in f]
        for who, start, end in self.fault_windows:
            times = [m["seconds"] for m in rows if m["seconds"] is not None and start <= m["unix_ms"] <= end and (who is None or who == m["edge"])]
            window_max.append({"edge": who, "probes": len(times), "max_ms": max(times) * 1000 if times else None})
        verify = {}
        for i in self.edges:
            out = subprocess.run([*self.ananas, "edge", "verify", "--store", str(self.work / f"edge{i}"), "--api", f"http://127.0.0.1:{self.api_port}",
                                  "--token", self.token, "--wait", "30"], env=self.env, capture_output=True, text=True)
            verify[f"edge{i}"] = {"exit": out.returncode, "summary": out.stdout.strip().splitlines()[-1] if out.stdout.strip() else out.stderr.strip()}
        lost = {}
        for i, addr in self.edges.items():
            wrong = 0
            for owner, candidates in self.expected.items():
                got = [socket.inet_ntoa(r) for r in dns_query(addr, owner, 1)]
                if len(got) != 1 or got[0] not in candidates:
                    wrong += 1
            lost[f"edge{i}"] = wrong
        applied, delay, received = {}, {}, {}
        try:
            api_metrics = metrics("127.0.0.1", self.api_port)
        except OSError:
            api_metrics = {}
        # Where a change's time goes, every change (the API's process since its last start): from its commit to ...
        batches = api_metrics.get("ananas_pipeline_publish_batches_total")
        published = api_metrics.get("ananas_pipeline_published_total")
        self.batches = {"batches": batches, "changes_per_batch": published / batches if batches and published else None}
        stages = {"publisher_read": histogram_quantiles(api_metrics, "ananas_pipeline_change_read_delay_seconds"),
                  "jetstream_ack": histogram_quantiles(api_metrics, "ananas_pipeline_change_publish_delay_seconds")}
        for i in self.edges:
            m = metrics(self.edges[i])
            delay[f"edge{i}"] = histogram_quantiles(m, "ananas_edge_change_delay_seconds")
            received[f"edge{i}"] = histogram_quantiles(m, "ananas_edge_change_receive_delay_seconds")
            received[f"edge{i}"]["apply"] = histogram_quantiles(m, "ananas_edge_apply_seconds")
            log = (self.work / f"edge{i}.log").read_text(errors="replace")
            # The counter covers the current process: from where its store stood at its first session.
            first = re.search(r"\(store at sequence (\d+)\)", log[log.rfind("serving "):])
            last_start = int(first.group(1)) if first else 0
            applied[f"edge{i}"] = {"applied_total": int(m.get("ananas_edge_changes_applied_total", 0)), "expected": final - last_start,
                                   "skipped_total": int(m.get("ananas_edge_changes_skipped_total", 0)), "gaps": int(m.get("ananas_edge_sync_gaps_total", 0)),
                                   "sessions": int(m.get("ananas_edge_sync_sessions_total", 0))}
        try:
            stream_messages = self.jsz()
        except (OSError, ValueError):
            stream_messages = None
        result = {
            "command": " ".join(sys.argv), "rate": a.rate, "seconds": a.seconds, "edges": a.edges, "zones": a.zones, "records": a.records,
            "acknowledged_changes": sent, "failed_requests": failed, "achieved_rate": sent / load_seconds, "last_sequence": final,
            "stream_messages": stream_messages,
            "propagation": {edge: {"n": len(v), "p50_ms": percentile(v, 0.5) * 1000, "p99_ms": percentile(v, 0.99) * 1000, "max_ms": max(v) * 1000 if v else None,
                                   "timeouts": timeouts[edge],
                                   "after_ack_p50_ms": percentile(after_ack[edge], 0.5) * 1000, "after_ack_p99_ms": percentile(after_ack[edge], 0.99) * 1000,
                                   "after_ack_max_ms": max(after_ack[edge]) * 1000 if after_ack[edge] else None,
                                   "outside_faults_n": len(outside[edge]), "outside_faults_p50_ms": percentile(outside[edge], 0.5) * 1000,
                                   "outside_faults_p99_ms": percentile(outside[edge], 0.99) * 1000} for edge, v in probes.items()},
            "fault_windows_ms": self.fault_windows, "fault_window_probe_max": window_max,
            "api_latency_ms": {"p50": percentile(self.latencies, 0.5) * 1000, "p99": percentile(self.latencies, 0.99) * 1000},
            "request_errors": self.errors,
            "change_delay_ms": delay, "change_received_ms": received, "stages_ms": stages,
            "cpu_during_load": self.cpu, "publisher_batches": self.batches,
            "catch_up_seconds": self.catch_up, "verify": verify, "records_answered_wrong": lost, "applied": applied, "events": self.events,
        }
        (self.work / "result.json").write_text(json.dumps(result, indent=2))
        return result

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
    print(f"\nbench/propagation: {args.rate:.0f} changes/s for {args.seconds:.0f} s ({result['acknowledged_changes']} acknowledged, "
          f"{result['achieved_rate']:.0f}/s achieved, {result['failed_requests']} refused while the API was down), {args.edges} edges, "
          f"{args.zones} zones x {args.records} records; last sequence {result['last_sequence']}, stream messages {result['stream_messages']}")
    print(f"{'edge':8} {'probes':>6} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'timeouts':>8}  verify                      wrong  applied/expected  skipped")
    ok = True
    for edge, p in result["propagation"].items():
        v, a = result["verify"][edge], result["applied"][edge]
        print(f"{edge:8} {p['n']:6} {p['p50_ms']:8.1f} {p['p99_ms']:8.1f} {p['max_ms'] or float('nan'):8.1f} {p['timeouts']:8}  {v['summary'][:26]:26}  "
              f"{result['records_answered_wrong'][edge]:5}  {a['applied_total']:7}/{a['expected']:<8} {a['skipped_total']}")
        ok &= v["exit"] == 0 and result["records_answered_wrong"][edge] == 0 and a["applied_total"] == a["expected"]
    for edge, p in result["propagation"].items():
        print(f"{edge}: after the API acknowledged the change: p50 {p['after_ack_p50_ms']:.1f} ms, p99 {p['after_ack_p99_ms']:.1f} ms, max {p['after_ack_max_ms'] or float('nan'):.1f} ms")
    if result["fault_windows_ms"]:
        for edge, p in result["propagation"].items():
            print(f"{edge}: changes sent outside the fault windows (kill until caught up; {p['outside_faults_n']} probes): p50 {p['outside_faults_p50_ms']:.1f} ms, p99 {p['outside_faults_p99_ms']:.1f} ms")
    print("Stages of every change (histograms, p50 / p99 ms interpolated in their bucket): from the database commit to ...")
    for what, d in result["stages_ms"].items():
        print(f"  {what:22} {d['p50_ms']:7.1f} / {d['p99_ms']:7.1f}  ({d['count']:.0f} changes)")
    if result["publisher_batches"]["changes_per_batch"]:
        print(f"  publisher batches: {result['publisher_batches']['batches']:.0f}, {result['publisher_batches']['changes_per_batch']:.1f} changes each")
    for edge, d in result["change_delay_ms"].items():
        r = result["change_received_ms"][edge]
        w = r["apply"]
        print(f"  {edge} received {r['p50_ms']:7.1f} / {r['p99_ms']:7.1f};  store commit {d['p50_ms']:7.1f} / {d['p99_ms']:7.1f}  ({d['count']:.0f} changes; "
              f"one write transaction {w['p50_ms']:.1f} / {w['p99_ms']:.1f} ms, {w['count']:.0f} of them)")
    cpu = result["cpu_during_load"]
    print("CPU per change acknowledged during the load (ms; context switches): " + ", ".join(
        f"{name} {c['cpu_ms_per_change']:.3f} ({c['switches_per_change']:.1f})" for name, c in cpu.items()) +
        f"; all {sum(c['cpu_ms_per_change'] for c in cpu.values()):.3f} ms")
    print(f"API PATCH latency p50 {result['api_latency_ms']['p50']:.1f} ms, p99 {result['api_latency_ms']['p99']:.1f} ms; failed requests by kind: {result['request_errors']}")
    for window in result["fault_window_probe_max"]:
        if window["max_ms"] is not None:
            print(f"slowest probe sent during a fault ({window['edge'] or 'every edge'}, {window['probes']} probes): {window['max_ms']:.0f} ms")
    for what, seconds in result["catch_up_seconds"].items():
        print(f"catch-up after {what}: {seconds:.2f} s")
    print(f"{'OK' if ok else 'FAILED'}: verify 0 differences, 0 lost, 0 applied twice ({bench.work}/result.json)")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
