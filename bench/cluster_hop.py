"""bench/cluster --hop: what the extra hop adds (local hits against hits a peer serves, same queries, same
moment) and the threads each node wakes per hit."""
from __future__ import annotations

import json
import random
import secrets
import time
from pathlib import Path

import bench as B
from cluster_nodes import DNS_PORT, Node, log, wait_ring
from cluster_report import delta


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
