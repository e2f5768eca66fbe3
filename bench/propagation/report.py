"""bench/propagation's results: what a run gathers once the load is over (result.json) and the printed report."""
from __future__ import annotations

import json
import re
import socket
import subprocess
import sys

from clients import dns_query, histogram_quantiles, metrics, percentile


def collect(bench, final: int, sent: int, failed: int, load_seconds: float) -> dict:
    """Gathers the results of a run: propagation per edge (all, after the acknowledgement, outside the fault windows),
    edge verify, answers of every record, applied counters, stage histograms; writes result.json."""
    a = bench.args
    probes: dict[str, list[float]] = {f"edge{i}": [] for i in bench.edges}
    after_ack: dict[str, list[float]] = {f"edge{i}": [] for i in bench.edges}
    timeouts = {f"edge{i}": 0 for i in bench.edges}
    # The same, without the changes sent while a fault affected the edge (from the kill until it follows the head again).
    outside: dict[str, list[float]] = {f"edge{i}": [] for i in bench.edges}
    with open(bench.work / "probe.jsonl") as f:
        for line in f:
            m = json.loads(line)
            if m["seconds"] is None:
                timeouts[m["edge"]] += 1
            else:
                probes[m["edge"]].append(m["seconds"])
                sent_ms = m["unix_ms"]
                if not any((who is None or who == m["edge"]) and start <= sent_ms <= end for who, start, end in bench.fault_windows):
                    outside[m["edge"]].append(m["seconds"])
                if m.get("api_seconds") is not None:
                    after_ack[m["edge"]].append(max(0.0, m["seconds"] - m["api_seconds"]))
    # Per fault: the slowest probe sent in its window (kill until it follows the head again), over the edges it affects.
    window_max = []
    with open(bench.work / "probe.jsonl") as f:
        rows = [json.loads(line) for line in f]
    for who, start, end in bench.fault_windows:
        times = [m["seconds"] for m in rows if m["seconds"] is not None and start <= m["unix_ms"] <= end and (who is None or who == m["edge"])]
        window_max.append({"edge": who, "probes": len(times), "max_ms": max(times) * 1000 if times else None})
    verify = {}
    for i in bench.edges:
        out = subprocess.run([*bench.ananas, "edge", "verify", "--store", str(bench.work / f"edge{i}"), "--api", f"http://127.0.0.1:{bench.api_port}",
                              "--token", bench.token, "--wait", "30"], env=bench.env, capture_output=True, text=True)
        verify[f"edge{i}"] = {"exit": out.returncode, "summary": out.stdout.strip().splitlines()[-1] if out.stdout.strip() else out.stderr.strip()}
    lost = {}
    for i, addr in bench.edges.items():
        wrong = 0
        for owner, candidates in bench.expected.items():
            got = [socket.inet_ntoa(r) for r in dns_query(addr, owner, 1)]
            if len(got) != 1 or got[0] not in candidates:
                wrong += 1
        lost[f"edge{i}"] = wrong
    applied, delay, received = {}, {}, {}
    try:
        api_metrics = metrics("127.0.0.1", bench.api_port)
    except OSError:
        api_metrics = {}
    # Where a change's time goes, every change (the API's process since its last start): from its commit to ...
    batches = api_metrics.get("ananas_pipeline_publish_batches_total")
    published = api_metrics.get("ananas_pipeline_published_total")
    bench.batches = {"batches": batches, "changes_per_batch": published / batches if batches and published else None}
    stages = {"publisher_read": histogram_quantiles(api_metrics, "ananas_pipeline_change_read_delay_seconds"),
              "jetstream_ack": histogram_quantiles(api_metrics, "ananas_pipeline_change_publish_delay_seconds")}
    for i in bench.edges:
        m = metrics(bench.edges[i])
        delay[f"edge{i}"] = histogram_quantiles(m, "ananas_edge_change_delay_seconds")
        received[f"edge{i}"] = histogram_quantiles(m, "ananas_edge_change_receive_delay_seconds")
        received[f"edge{i}"]["apply"] = histogram_quantiles(m, "ananas_edge_apply_seconds")
        log = (bench.work / f"edge{i}.log").read_text(errors="replace")
        # The counter covers the current process: from where its store stood at its first session.
        first = re.search(r"\(store at sequence (\d+)\)", log[log.rfind("serving "):])
        last_start = int(first.group(1)) if first else 0
        applied[f"edge{i}"] = {"applied_total": int(m.get("ananas_edge_changes_applied_total", 0)), "expected": final - last_start,
                               "skipped_total": int(m.get("ananas_edge_changes_skipped_total", 0)), "gaps": int(m.get("ananas_edge_sync_gaps_total", 0)),
                               "sessions": int(m.get("ananas_edge_sync_sessions_total", 0))}
    try:
        stream_messages = bench.jsz()
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
        "fault_windows_ms": bench.fault_windows, "fault_window_probe_max": window_max,
        "api_latency_ms": {"p50": percentile(bench.latencies, 0.5) * 1000, "p99": percentile(bench.latencies, 0.99) * 1000},
        "request_errors": bench.errors,
        "change_delay_ms": delay, "change_received_ms": received, "stages_ms": stages,
        "cpu_during_load": bench.cpu, "publisher_batches": bench.batches,
        "catch_up_seconds": bench.catch_up, "verify": verify, "records_answered_wrong": lost, "applied": applied, "events": bench.events,
    }
    (bench.work / "result.json").write_text(json.dumps(result, indent=2))
    return result


def print_report(result: dict, args, work) -> bool:
    """Prints the report of a run (not --cpu); true when every edge verified, lost nothing and applied each change once."""
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
            print(f"{edge}: changes sent outside the fault windows (kill until following the head again; {p['outside_faults_n']} probes): p50 {p['outside_faults_p50_ms']:.1f} ms, p99 {p['outside_faults_p99_ms']:.1f} ms")
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
    print(f"{'OK' if ok else 'FAILED'}: verify 0 differences, 0 lost, 0 applied twice ({work}/result.json)")
    return ok
