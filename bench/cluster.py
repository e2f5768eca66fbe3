#!/usr/bin/env python3
"""bench/cluster: cache sharing between Ananas nodes (docs/CLUSTER.md) on the loopback lab (bench/lab).

N nodes on 127.0.1.1 ... 127.0.1.N resolve against a lab of 10,000 zones whose TTLs are spread from 30 to 300 s.
Clients spread their queries over the nodes at random, as a load balancer would: one dnsperf per node, each sending
an independent Zipf (s = 0.9) sample over every name of the lab (about 117,000) at rate/N, so names expire and are
fetched again during the run. Three set-ups are measured one after the other, each from empty caches:

  single   one node takes everything (the ideal shared cache)
  plain    N nodes, no sharing
  shared   N nodes, sharing on ([cluster] with every node in cluster.peers)

For each: the aggregate hit ratio (client queries answered without resolving anywhere: 1 - resolutions / queries,
where a resolution is a cache miss not answered by a peer), the upstream queries sent to the lab (the nodes'
ananas_upstream_queries_total), and p50/p99 latency over all client queries (dnsperf -v).

--faults adds, in the shared set-up, `kill -9` of node 2 at a third of the run (restarted 10 s later) and SIGSTOP of
node 3 for 5 s at two thirds; node 1's ring is polled through `ananas cluster status` to time the failover, and the
clients of the untouched nodes report their errors and worst latency around each fault.
--cross-check then asks a sample of lab names of a sharing node and of a lone node, each name with four sets of the
client's bits (AD, none, DO, DO+CD), and compares rcode, AD and the answer RRsets; with --signed the lab is signed and
both validate, so AD means something. --query-log has every node write its query log (and the clients ask with EDNS)
and reports each SERVFAIL by node, by recipient (a client, or a peer's forwarded question) and by Extended DNS Error.
--hop measures only what the extra hop adds: local hits against hits served by a peer, same queries, same moment; then
it counts the threads each node wakes per local hit and per forwarded hit (/proc context switches, less idle).
Results go to stdout (a Markdown table) and .build/bench/cluster/<time>/.
"""
from __future__ import annotations

import argparse
import calendar
import json
import os
import random
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench as B  # noqa: E402  (the lab, dnsperf and DNS helpers of bench/run)

NET = "127.78"  # the lab's servers (not bench/run's 127.77, so both can be up)
BASE = "127.0.1"
DNS_PORT, PEER_PORT, METRICS_PORT, CONTROL_PORT = 5353, 5390, 9153, 9154


def log(msg: str) -> None:
    print(f"cluster: {msg}", file=sys.stderr, flush=True)


class Node:
    def __init__(self, index: int, run: Path):
        self.index = index
        self.id = f"n{index}"
        self.address = f"{BASE}.{index}"
        self.work = run / self.id
        self.work.mkdir(parents=True, exist_ok=True)
        self.proc: subprocess.Popen | None = None

    def config(self, lab: Path, peers: list["Node"] | None, secret: str, cache_mb: int, query_log: bool = False) -> Path:
        lines = [
            f'listen = ["udp://{self.address}:{DNS_PORT}", "tcp://{self.address}:{DNS_PORT}"]',
            f'root-hints = "{lab}/root.hints"',
            "[resolver]", "query-localhost = true",
            "[cache]", f'size = "{cache_mb}MiB"',
            "[udp]", "sockets = 1", "threads-per-socket = 1",
            # An unsigned lab: validation on would make every answer bogus under the real root's anchors; a signed
            # one is validated from its own root's DS.
            *(["[dnssec]", 'validation = "on"', f'trust-anchor = "{lab}/trust-anchor.ds"'] if (lab / "trust-anchor.ds").exists()
              else ["[dnssec]", 'validation = "off"']),
            "[metrics]", f'listen = "http://{self.address}:{METRICS_PORT}"',
            "[control]", f'listen = "http://{self.address}:{CONTROL_PORT}"', f'token-file = "{self.work}/control.token"',
            "[log]", 'level = "warning"',
        ]
        if query_log:
            lines.append(f'query-log = "{self.work}/queries.log"')
        if peers:
            members = ", ".join(f'{{ id = "{p.id}", address = "{p.address}:{PEER_PORT}" }}' for p in peers)
            lines += ["[cluster]", f'node-id = "{self.id}"', f"peers = [{members}]", f'secret = "{secret}"']
        path = self.work / "ananas.toml"
        path.write_text("\n".join(lines) + "\n")
        return path

    def start(self, conf: Path) -> None:
        self.proc = B.start([B.ANANAS, "serve", "--config", str(conf)], self.work / "ananas.log")

    def wait_ready(self, probe: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc and self.proc.poll() is not None:
                raise RuntimeError(f"{self.id} exited; see {self.work / 'ananas.log'}")
            if B.ask(self.address, DNS_PORT, probe, "A", timeout=1)[0] == "NOERROR":
                return
            time.sleep(0.3)
        raise RuntimeError(f"{self.id} did not answer {probe} within {timeout} s")

    def signal(self, sig: int) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)

    def metrics(self) -> dict[str, float]:
        values: dict[str, float] = {}
        try:
            with urllib.request.urlopen(f"http://{self.address}:{METRICS_PORT}/metrics", timeout=5) as r:
                text = r.read().decode()
        except OSError:
            return values
        for line in text.splitlines():
            if line.startswith("#") or " " not in line:
                continue
            name, value = line.rsplit(" ", 1)
            base = name.split("{", 1)[0]
            try:
                values[base] = values.get(base, 0.0) + float(value) if "{" in name and "_bucket" not in name else float(value)
            except ValueError:
                pass
        return values

    def cluster_status(self) -> dict | None:
        try:
            token = (self.work / "control.token").read_text().strip()
            request = urllib.request.Request(f"http://{self.address}:{CONTROL_PORT}/cluster", headers={"Authorization": f"Bearer {token}"})
            with urllib.request.urlopen(request, timeout=1) as r:
                return json.loads(r.read())
        except (OSError, ValueError):
            return None


def workload(lab: Path, out: Path, streams: int, per_stream: int, seed: int) -> list[Path]:
    """One independent Zipf sample per client stream over every name of the lab (popularity: a fixed random order)."""
    names = [line.split("\t")[:2] for line in (lab / "names.tsv").read_text().splitlines()]
    random.Random(seed).shuffle(names)
    files = []
    for s in range(streams):
        path = out / f"stream-{streams}-{s}.txt"
        if not path.exists():
            picks = B.zipf_choices(random.Random(seed * 1000 + s + streams * 100), names, 0.9, per_stream)
            path.write_text("".join(f"{q} {t}\n" for q, t in picks))
        files.append(path)
    return files


def run_clients(nodes: list[Node], files: list[Path], rate: float, duration: float, out: Path, label: str, edns: bool = False) -> list[B.Perf]:
    """One dnsperf per node, at the same time, each at rate/N; returns their results (latencies included). With
    edns the queries carry an OPT record, so that SERVFAILs carry their Extended DNS Errors (for --query-log)."""
    results: list[B.Perf | None] = [None] * len(nodes)

    def one(i: int) -> None:
        results[i] = B.dnsperf(nodes[i].address, DNS_PORT, files[i], "0-1", out / f"{label}-{nodes[i].id}.dnsperf",
                               duration=duration, rate=rate / len(nodes), outstanding=500, verbose=True, timeout=2,
                               edns=edns)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(nodes))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return [r for r in results if r is not None]


def faults(nodes: list[Node], duration: float, conf: dict[str, Path], record: dict) -> None:
    """kill -9 node 2 at T/3 (restarted 10 s later) and SIGSTOP node 3 for 5 s at 2T/3, timing node 1's view of the ring."""
    watcher, victim, paused = nodes[0], nodes[1], nodes[2]

    def until(predicate, limit: float) -> float | None:
        start = time.monotonic()
        while time.monotonic() - start < limit:
            status = watcher.cluster_status()
            if status is not None and predicate(status["ring"]):
                return time.monotonic() - start
            time.sleep(0.05)
        return None

    time.sleep(duration / 3)
    record["kill_at"] = time.time()
    victim.signal(signal.SIGKILL)
    record["kill_out_of_ring_s"] = until(lambda ring: victim.id not in ring, 5)
    time.sleep(10)
    victim.start(conf[victim.id])
    record["restart_at"] = time.time()
    record["rejoin_s"] = until(lambda ring: victim.id in ring, 30)
    time.sleep(max(0.0, duration * 2 / 3 - (time.time() - record["kill_at"]) - duration / 3))
    record["stop_at"] = time.time()
    paused.signal(signal.SIGSTOP)
    record["stop_out_of_ring_s"] = until(lambda ring: paused.id not in ring, 5)
    time.sleep(max(0.0, 5 - (time.time() - record["stop_at"])))
    paused.signal(signal.SIGCONT)
    record["cont_at"] = time.time()
    record["resume_s"] = until(lambda ring: paused.id in ring, 10)


def setup(name: str, count: int, sharing: bool, lab: Path, run: Path, files: list[Path], args, with_faults: bool) -> dict:
    nodes = [Node(i + 1, run / name) for i in range(count)]
    secret = secrets.token_hex(32)
    confs = {n.id: n.config(lab, nodes if sharing else None, secret, args.cache_mb, args.query_log) for n in nodes}
    log(f"{name}: starting {count} node(s){' with sharing' if sharing else ''}")
    for n in nodes:
        n.start(confs[n.id])
    try:
        for n in nodes:
            n.wait_ready("z1.net.")
        if sharing:
            wait_ring(nodes)
        before = [n.metrics() for n in nodes]
        record: dict = {}
        fault_thread = threading.Thread(target=faults, args=(nodes, args.duration, confs, record), daemon=True) if with_faults else None
        if fault_thread:
            fault_thread.start()
        log(f"{name}: {args.rate} q/s for {args.duration} s over {count} node(s)")
        record["clients_at"] = time.time()
        perfs = run_clients(nodes, files, args.rate, args.duration, run, name, edns=args.query_log)
        if fault_thread:
            fault_thread.join()
        after = [n.metrics() for n in nodes]
        result = summarize(name, count, before, after, perfs)
        if with_faults:
            result["faults"] = fault_report(record, run, name, nodes, args.rate)
        if args.query_log:
            result["servfail_sources"] = servfail_sources(nodes, record["clients_at"])
            if with_faults:
                result["fault_times_s"] = {k[:-3]: round(v - record["clients_at"], 1) for k, v in record.items() if k.endswith("_at") and k != "clients_at"}
        if args.cross_check and sharing:
            result["cross_check"] = cross_check(nodes[0], lab, run, args)
        return result
    finally:
        for n in nodes:
            n.signal(signal.SIGCONT)
            if n.proc:
                B.stop(n.proc)


def delta(before: list[dict], after: list[dict], key: str) -> float:
    # A node restarted during the run (the kill fault) starts its counters again from zero.
    return sum(a.get(key, 0) - (b.get(key, 0) if a.get(key, 0) >= b.get(key, 0) else 0) for b, a in zip(before, after))


def summarize(name: str, count: int, before: list[dict], after: list[dict], perfs: list[B.Perf]) -> dict:
    latencies = sorted(x for p in perfs for x in p.latencies)
    sent = sum(p.sent for p in perfs)
    misses = delta(before, after, "ananas_cache_misses_total")
    answered = delta(before, after, "ananas_cluster_forward_answered_total")
    peer_frames = delta(before, after, "ananas_cluster_served_for_peers_total") + delta(before, after, "ananas_cluster_peer_queries_refused_total")
    frames = delta(before, after, "ananas_frames_total") - peer_frames
    resolutions = misses - answered
    return {
        "setup": name, "nodes": count, "sent": sent, "completed": sum(p.completed for p in perfs), "lost": sum(p.lost for p in perfs),
        "client_frames": frames, "hit_ratio": 1 - resolutions / frames if frames else float("nan"),
        "upstream": delta(before, after, "ananas_upstream_queries_total"),
        "forwarded": delta(before, after, "ananas_cluster_forwarded_total"), "answered_by_peers": answered,
        "budget_timeouts": delta(before, after, "ananas_cluster_budget_timeouts_total"),
        "servfail": sum(int(m.group(1)) for p in perfs for m in [re.search(r"SERVFAIL (\d+)", p.rcodes)] if m),
        "p50_ms": B.percentile(latencies, 0.5) * 1000 if latencies else float("nan"),
        "p99_ms": B.percentile(latencies, 0.99) * 1000 if latencies else float("nan"),
        "max_ms": latencies[-1] * 1000 if latencies else float("nan"),
    }


def fault_report(record: dict, run: Path, name: str, nodes: list[Node], rate: float) -> dict:
    """What the clients of the untouched nodes saw around each fault. dnsperf -v prints no times, but it sends at a
    fixed rate, so the k-th reply belongs to about k / rate seconds after its start: the replies of each window
    (the 2 s after the kill, the 6 s from SIGSTOP) are compared with those of the whole run."""
    untouched = [n for n in nodes if n.index not in (2, 3)]
    per_node = rate / len(nodes)
    start = record["clients_at"]
    windows = {"after_kill": (record["kill_at"] - start, 2.0), "during_sigstop": (record["stop_at"] - start, 6.0)}
    seen: dict[str, list[float]] = {w: [] for w in windows}
    everything: list[float] = []
    lost = 0
    for n in untouched:
        latencies = []
        for line in (run / f"{name}-{n.id}.dnsperf").read_text().splitlines():
            if line.startswith("> "):
                try:
                    latencies.append(float(line.rsplit(None, 1)[1]) * 1000)
                except ValueError:
                    pass
            elif "Queries lost:" in line:
                lost += int(line.split()[2])
        everything += latencies
        for w, (at, length) in windows.items():
            seen[w] += latencies[int(at * per_node):int((at + length) * per_node)]
    report = {k: round(v, 3) for k, v in record.items() if not k.endswith("_at") and v is not None}
    report["untouched_nodes_lost"] = lost
    everything.sort()
    report["untouched_whole_run_p99_ms"] = round(B.percentile(everything, 0.99), 1)
    report["untouched_whole_run_max_ms"] = round(everything[-1], 1) if everything else None
    for w, values in seen.items():
        values.sort()
        report[f"untouched_{w}_p99_ms"] = round(B.percentile(values, 0.99), 1)
        report[f"untouched_{w}_max_ms"] = round(values[-1], 1) if values else None
    return report


def servfail_sources(nodes: list[Node], start: float) -> dict:
    """Every SERVFAIL the nodes sent, by node, by whom it went to (a client over UDP, a peer's forwarded question
    over the peer link, logged as tcp) and by Extended DNS Error, so that a client's SERVFAIL can be traced to the
    node that failed."""
    counts: dict[str, int] = {}
    for n in nodes:
        path = n.work / "queries.log"
        if not path.exists():
            continue
        for line in path.read_text(errors="replace").splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("rcode") != "SERVFAIL":
                continue
            to = "peer" if entry.get("transport") == "tcp" else "client"
            ede = ",".join(str(e) for e in entry.get("ede", [])) or "none"
            key = f"{n.id} to {to} ede {ede}"
            counts[key] = counts.get(key, 0) + 1
            # When, in 5 s windows from the clients' start (to line them up with the faults' times).
            try:
                at = calendar.timegm(time.strptime(entry["time"][:19], "%Y-%m-%dT%H:%M:%S")) - start
                window = f"{n.id} to {to} at {int(at // 5) * 5}-{int(at // 5) * 5 + 5} s"
                counts[window] = counts.get(window, 0) + 1
            except (KeyError, ValueError):
                pass
    return dict(sorted(counts.items()))


FLAG_SETS = [("AD", {"ad": True}), ("plain", {}), ("DO", {"do": True}), ("DO+CD", {"do": True, "cd": True})]


MASK = (1 << 64) - 1


def fnv1a(data: bytes) -> int:
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & MASK
    return h


def mix(z: int) -> int:
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


def owner_of(name: str, ids: list[str]) -> str:
    """src/Ananas.Cluster/Rendezvous.cs for a lab name: its registered domain is its last two labels (the lab's TLDs
    are single-label public suffixes, or unlisted), and the owner is the id with the highest mix(key ^ node) score."""
    key = mix(fnv1a(".".join(name.lower().rstrip(".").split(".")[-2:]).encode()))
    return max(ids, key=lambda i: mix(key ^ ((fnv1a(i.encode()) * 0x9E3779B97F4A7C15) & MASK)))


def hop_latency(lab: Path, run: Path, args) -> dict:
    """What the extra hop adds: two sharing nodes; every name is first asked of its owner (so each node's cache holds
    the names it owns), then all are asked once at node 1 at a fixed rate below saturation. Node 1 answers the names
    it owns from its cache (local hits) and forwards the others to node 2, which answers from its cache (hits served
    by a peer): one query set, one moment, two latency distributions side by side."""
    nodes = [Node(i + 1, run / "hop") for i in range(2)]
    secret = secrets.token_hex(32)
    confs = {n.id: n.config(lab, nodes, secret, args.cache_mb) for n in nodes}
    for n in nodes:
        n.start(confs[n.id])
    try:
        for n in nodes:
            n.wait_ready("z1.net.")
        wait_ring(nodes)
        pairs = sorted({(q, t) for q, t in (line.split("\t")[:2] for line in (lab / "names.tsv").read_text().splitlines())})
        random.Random(7).shuffle(pairs)
        pairs, spare = pairs[:args.hop_names], pairs[args.hop_names:]
        ids = [n.id for n in nodes]
        owned = {(q, t): owner_of(q, ids) for q, t in pairs + spare}
        # Names kept apart for counting wake-ups: cached at their owner, never asked at node 1 before that count.
        counted = {"local": [p for p in spare if owned[p] == nodes[0].id][:args.hop_wakeups],
                   "peer": [p for p in spare if owned[p] == nodes[1].id][:args.hop_wakeups]}
        for n in nodes:
            warm = run / f"hop-warm-{n.id}.txt"
            warm.write_text("".join(f"{q} {t}\n" for q, t in pairs + counted["local"] + counted["peer"] if owned[(q, t)] == n.id))
            log(f"hop: warming the names {n.id} owns at {n.id}")
            B.dnsperf(n.address, DNS_PORT, warm, "0-1", run / f"hop-warm-{n.id}.dnsperf", runs=1, rate=args.hop_rate * 2, outstanding=200)
        ask = run / "hop-ask.txt"
        random.Random(8).shuffle(pairs)
        ask.write_text("".join(f"{q} {t}\n" for q, t in pairs))
        time.sleep(1)
        before = [n.metrics() for n in nodes]
        log(f"hop: asking all {len(pairs)} at {nodes[0].id}, {args.hop_rate} q/s")
        perf = B.dnsperf(nodes[0].address, DNS_PORT, ask, "0-1", run / "hop-ask.dnsperf", runs=1, rate=args.hop_rate, outstanding=100, verbose=True)
        after = [n.metrics() for n in nodes]
        local, peer = [], []
        for line in (run / "hop-ask.dnsperf").read_text().splitlines():
            parts = line.split()
            if not line.startswith("> ") or len(parts) != 5 or parts[1] not in ("NOERROR", "NXDOMAIN"):
                continue
            (local if owner_of(parts[2], ids) == nodes[0].id else peer).append(float(parts[4]) * 1000)

        def dist(values: list[float]) -> dict:
            values.sort()
            return {"n": len(values), **{f"p{k}_ms": round(B.percentile(values, k / 100), 3) for k in (50, 90, 99)},
                    "p99.9_ms": round(B.percentile(values, 0.999), 3), "max_ms": round(values[-1], 3) if values else None}

        d_local, d_peer = dist(local), dist(peer)
        wakeups = hop_wakeups(nodes, run, counted, args.hop_wakeup_rate) if args.hop_wakeups else None
        return {"wakeups_per_query": wakeups,"rate": args.hop_rate, "sent": perf.sent, "lost": perf.lost, "local_hits": d_local, "peer_hits": d_peer,
                "added_p50_ms": round(d_peer["p50_ms"] - d_local["p50_ms"], 3), "added_p99_ms": round(d_peer["p99_ms"] - d_local["p99_ms"], 3),
                "node1_cache_hits": delta(before[:1], after[:1], "ananas_cache_hits_total"),
                "forwarded": delta(before[:1], after[:1], "ananas_cluster_forwarded_total"),
                "answered_by_owner": delta(before[:1], after[:1], "ananas_cluster_forward_answered_total"),
                **{key: delta(before[:1], after[:1], f"ananas_cluster_{key}_total") for key in ("spilled", "budget_timeouts", "forward_fallbacks", "owner_failures", "peer_failures")},
                "owner_cache_hits": delta(before[1:], after[1:], "ananas_cache_hits_total"),
                "upstream_during": delta(before, after, "ananas_upstream_queries_total")}
    finally:
        for n in nodes:
            if n.proc:
                B.stop(n.proc)


def thread_switches(pid: int) -> dict[int, tuple[str, int, int]]:
    """Each thread of a process: its name and its voluntary and involuntary context switches so far (/proc)."""
    threads = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            fields = dict(line.split(":", 1) for line in (task / "status").read_text().splitlines() if ":" in line)
            threads[int(task.name)] = ((task / "comm").read_text().strip(), int(fields["voluntary_ctxt_switches"]), int(fields["nonvoluntary_ctxt_switches"]))
        except (OSError, KeyError, ValueError):
            pass
    return threads


def switches_between(before: dict, after: dict) -> dict[str, list[int]]:
    """Context switches by thread name between two snapshots (a thread started meanwhile counts from zero)."""
    by_name: dict[str, list[int]] = {}
    for tid, (name, voluntary, involuntary) in after.items():
        _, v0, i0 = before.get(tid, (name, 0, 0))
        entry = by_name.setdefault(name, [0, 0])
        entry[0] += voluntary - v0
        entry[1] += involuntary - i0
    return by_name


def hop_wakeups(nodes: list[Node], run: Path, counted: dict[str, list], rate: float) -> dict:
    """Thread wake-ups per query at a low rate (one query at a time): each node's voluntary context switches (a thread
    that blocked, to be woken again) while node 1 is asked names it owns (local hits) and names node 2 owns (forwarded
    hits), less what the same nodes do idle for as long (pings, timers). Counted, not timed: a busy machine stretches
    the time, not the count (involuntary switches, the preemptions, are reported apart: they are the machine's)."""
    pids = [n.proc.pid for n in nodes]

    def measure(label: str, names: list | None, seconds: float = 0) -> tuple[float, list[dict]]:
        before = [thread_switches(pid) for pid in pids]
        started = time.monotonic()
        if names:
            qfile = run / f"hop-count-{label}.txt"
            qfile.write_text("".join(f"{q} {t}\n" for q, t in names))
            B.dnsperf(nodes[0].address, DNS_PORT, qfile, "0-1", run / f"hop-count-{label}.dnsperf", runs=1, rate=rate, outstanding=1, clients=1, threads=1)
        else:
            time.sleep(seconds)
        elapsed = time.monotonic() - started
        return elapsed, [switches_between(b, a) for b, a in zip(before, [thread_switches(pid) for pid in pids])]

    time.sleep(2)
    idle_seconds, idle = measure("idle", None, max(len(v) for v in counted.values()) / rate)
    result: dict = {"rate": rate, "idle_seconds": round(idle_seconds, 1),
                    "idle_per_second": {n.id: {k: round(v[0] / idle_seconds, 1) for k, v in d.items() if v[0]} for n, d in zip(nodes, idle)}}
    for label in ("local", "peer"):
        names = counted[label]
        elapsed, busy = measure(label, names)
        per_node = {}
        for node, during, quiet in zip(nodes, busy, idle):
            threads = {}
            for name in set(during) | set(quiet):
                v = (during.get(name, [0, 0])[0] - quiet.get(name, [0, 0])[0] * elapsed / idle_seconds) / len(names)
                i = during.get(name, [0, 0])[1] / len(names)
                if abs(v) >= 0.05 or i >= 0.05:
                    threads[name] = {"voluntary": round(v, 2), "involuntary": round(i, 2)}
            per_node[node.id] = {"voluntary": round(sum(t["voluntary"] for t in threads.values()), 2),
                                 "involuntary": round(sum(t["involuntary"] for t in threads.values()), 2), "threads": threads}
        result[label] = {"queries": len(names), "seconds": round(elapsed, 1), **per_node}
        log(f"hop: wake-ups per {label} query: {json.dumps(per_node)}")
    return result


def wait_ring(nodes: list[Node]) -> None:
    """Until every node has every node in its ring (30 s at most)."""
    deadline = time.monotonic() + 30
    while any(len((n.cluster_status() or {}).get("ring", [])) < len(nodes) for n in nodes):
        if time.monotonic() > deadline:
            raise RuntimeError("the ring did not form within 30 s")
        time.sleep(0.2)


def cross_check(node: Node, lab: Path, run: Path, args) -> dict:
    """Asks a sample of names of a sharing node and of a lone node: rcode, AD and answer RRsets must agree."""
    lone = Node(9, run / "lone")
    lone.start(lone.config(lab, None, "", args.cache_mb))
    try:
        lone.wait_ready("z1.net.")
        names = [line.split("\t")[:2] for line in (lab / "names.tsv").read_text().splitlines()]
        sample = random.Random(5).sample(names, min(args.cross_check, len(names)))
        before = node.metrics()
        differ = []
        ad_set = {label: 0 for label, _ in FLAG_SETS}
        for q, t in sample:
            # Each name with each client's bits, in the same order at both nodes (the AD-only query first, so that
            # the plain one after it is answered from a cache entry that carries AD and must have it cleared).
            for label, bits in FLAG_SETS:
                answers = []
                for target in (node, lone):
                    msg = B.exchange(target.address, DNS_PORT, B.encode_query(random.randrange(65536), q, t, **bits), 4.0)
                    answers.append(("TIMEOUT", frozenset(), False) if msg is None else (B.parse_answer(msg)[0], B.parse_answer(msg)[1], bool(msg[3] & 0x20)))
                ad_set[label] += answers[0][2]
                if answers[0] != answers[1]:
                    differ.append(f"{q} {t} {label}: {answers[0][0]} AD={int(answers[0][2])} vs {answers[1][0]} AD={int(answers[1][2])}")
        after = node.metrics()
        return {"names": len(sample), "asked": len(sample) * len(FLAG_SETS), "different": len(differ),
                "forwarded": delta([before], [after], "ananas_cluster_forwarded_total"),
                "answered_by_owner": delta([before], [after], "ananas_cluster_forward_answered_total"),
                "ad_set_by_sharing_node": ad_set, "examples": differ[:10]}
    finally:
        if lone.proc:
            B.stop(lone.proc)


def table(results: list[dict]) -> str:
    single = next((r for r in results if r["setup"] == "single"), None)
    lines = ["| set-up | nodes | client queries | lost | hit ratio | upstream queries | upstream / single | forwarded | answered by owner | p50 ms | p99 ms |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        ratio = f"{r['upstream'] / single['upstream']:.2f}x" if single and single["upstream"] else "-"
        lines.append(f"| {r['setup']} | {r['nodes']} | {r['sent']} | {r['lost']} | {r['hit_ratio']:.3f} | {r['upstream']:.0f} | {ratio} | "
                     f"{r['forwarded']:.0f} | {r['answered_by_peers']:.0f} | {r['p50_ms']:.3f} | {r['p99_ms']:.3f} |")
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser(prog="bench/cluster", description=__doc__.split("\n\n")[0])
    p.add_argument("--nodes", type=int, default=4)
    p.add_argument("--duration", type=float, default=300, help="seconds per set-up (default 300)")
    p.add_argument("--rate", type=float, default=1000, help="client queries per second over all nodes (default 1000)")
    p.add_argument("--zones", type=int, default=10000, help="lab zones (about 11.7 names each; default 10000)")
    p.add_argument("--setups", default="single,plain,shared", help="which set-ups, in order")
    p.add_argument("--faults", action="store_true", help="kill -9 and SIGSTOP during the shared set-up")
    p.add_argument("--cross-check", type=int, default=0, metavar="N", help="compare N names' answers, sharing vs lone node")
    p.add_argument("--cache-mb", type=int, default=256)
    p.add_argument("--query-log", action="store_true", help="every node writes its query log and clients ask with EDNS; SERVFAILs are reported by node, recipient and EDE")
    p.add_argument("--signed", action="store_true", help="a DNSSEC-signed lab, validated from its root's DS (for the cross-check's AD)")
    p.add_argument("--hop", action="store_true", help="only measure the extra hop: local hits vs hits served by a peer (2 nodes, TTLs 3600)")
    p.add_argument("--hop-names", type=int, default=6000, help="names asked in --hop (default 6000)")
    p.add_argument("--hop-rate", type=float, default=200, help="queries per second in --hop's measured phase (default 200)")
    p.add_argument("--hop-wakeups", type=int, default=500, help="--hop then counts thread wake-ups over this many local and this many forwarded hits, one at a time (0: not)")
    p.add_argument("--hop-wakeup-rate", type=float, default=50, help="queries per second while counting wake-ups (default 50)")
    p.add_argument("--quick", action="store_true", help="20 s per set-up on a 1,000-zone lab (to check the harness)")
    p.add_argument("--ananas", help="the command that runs Ananas (default: the repository's ./ananas launcher)")
    args = p.parse_args()
    if args.ananas:
        B.ANANAS = args.ananas
    if args.quick:
        args.duration, args.zones = 20, 1000
    if args.nodes > 254 or args.nodes < 1 or (args.faults and args.nodes < 4):
        p.error("--nodes: 1-254 (at least 4 with --faults)")
    signal.signal(signal.SIGTERM, B._on_signal)
    # --hop keeps every name cached for the whole measurement (the lab's default TTL, 3600 s).
    lab_args = ["--zones", str(args.zones), "--net", NET] + ([] if args.hop else ["--ttls", "30-300"]) + (["--signed"] if args.signed else [])
    lab = Path(subprocess.run([sys.executable, str(B.LAB), "up", *lab_args],
                              check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])
    run = B.OUT / "cluster" / time.strftime("%Y%m%d-%H%M%S")
    run.mkdir(parents=True)
    subprocess.run([B.ANANAS, "version"], check=True, capture_output=True)  # builds once, before any timing
    per_stream = int(args.rate * args.duration * 1.2)
    if args.hop:
        try:
            result = hop_latency(lab, run, args)
        finally:
            B.stop_all()
        (run / "hop.json").write_text(json.dumps(result, indent=2) + "\n")
        print(f"bench/cluster {' '.join(sys.argv[1:])}: lab of {args.zones} zones; {B.machine()}\n")
        print("| hits | count | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms |\n|---|---|---|---|---|---|---|")
        for label, key in (("local (node 1's cache)", "local_hits"), ("served by the peer (node 2's cache)", "peer_hits")):
            d = result[key]
            print(f"| {label} | {d['n']} | {d['p50_ms']} | {d['p90_ms']} | {d['p99_ms']} | {d['p99.9_ms']} | {d['max_ms']} |")
        print(f"\nhop: {json.dumps({k: v for k, v in result.items() if k not in ('local_hits', 'peer_hits', 'wakeups_per_query')})}")
        if result["wakeups_per_query"]:
            w = result["wakeups_per_query"]
            print(f"\nThread wake-ups (voluntary context switches) per query, {w['rate']:g} q/s one at a time, less idle:\n")
            print("| hits | node 1 | node 2 | node 1 threads | node 2 threads |\n|---|---|---|---|---|")
            for label in ("local", "peer"):
                cells = [w[label][n]["voluntary"] for n in ("n1", "n2")]
                threads = ["; ".join(f"{k} {v['voluntary']}" for k, v in sorted(w[label][n]["threads"].items()) if abs(v["voluntary"]) >= 0.05) for n in ("n1", "n2")]
                print(f"| {label} | {cells[0]} | {cells[1]} | {threads[0]} | {threads[1]} |")
        return 0
    results = []
    try:
        for name in args.setups.split(","):
            count = 1 if name == "single" else args.nodes
            files = workload(lab, run, count, per_stream // count + 1, seed=9)
            results.append(setup(name, count, name == "shared", lab, run, files, args, with_faults=args.faults and name == "shared"))
            log(json.dumps(results[-1]))
    except KeyboardInterrupt:
        log("interrupted")
    finally:
        B.stop_all()
    (run / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"bench/cluster {' '.join(sys.argv[1:])}: {args.rate:.0f} q/s, {args.duration:.0f} s per set-up, lab of {args.zones} zones "
          f"(TTLs 30-300 s), Zipf s=0.9; {B.machine()}\n")
    print(table(results))
    for r in results:
        for key in ("faults", "fault_times_s", "cross_check", "servfail_sources"):
            if key in r:
                print(f"\n{r['setup']} {key}: {json.dumps(r[key])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
