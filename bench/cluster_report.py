"""bench/cluster's figures: hit ratio, upstream queries and latency of a set-up, fault windows, SERVFAIL sources,
and the Markdown table."""
from __future__ import annotations

import calendar
import json
import re
import time
from pathlib import Path

import bench as B
from cluster_nodes import Node


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


def table(results: list[dict]) -> str:
    single = next((r for r in results if r["setup"] == "single"), None)
    lines = ["| set-up | nodes | client queries | lost | hit ratio | upstream queries | upstream / single | forwarded | answered by owner | p50 ms | p99 ms |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        ratio = f"{r['upstream'] / single['upstream']:.2f}x" if single and single["upstream"] else "-"
        lines.append(f"| {r['setup']} | {r['nodes']} | {r['sent']} | {r['lost']} | {r['hit_ratio']:.3f} | {r['upstream']:.0f} | {ratio} | "
                     f"{r['forwarded']:.0f} | {r['answered_by_peers']:.0f} | {r['p50_ms']:.3f} | {r['p99_ms']:.3f} |")
    return "\n".join(lines)
