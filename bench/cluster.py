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
import json
import random
import secrets
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench as B  # noqa: E402  (the lab, dnsperf and DNS helpers of bench/run)
from cluster_nodes import DNS_PORT, NET, Node, faults, log, run_clients, wait_ring, workload  # noqa: E402
from cluster_report import delta, fault_report, servfail_sources, summarize, table  # noqa: E402
from cluster_hop import hop_latency  # noqa: E402


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


FLAG_SETS = [("AD", {"ad": True}), ("plain", {}), ("DO", {"do": True}), ("DO+CD", {"do": True, "cd": True})]


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
