#!/usr/bin/env python3
"""bench/cold-steady: a warm server's cold work, resolvers side by side in interleaved rounds (issue 19, target 1).

Per round and resolver: a fresh server, `cold0.txt` flat out for --warm seconds (the zones' first visits; its QPS is
printed as "first"), then new names in the zones already visited: `cold1.txt` at a fixed --rate (CPU µs per answered
query) and `cold2.txt` flat out (QPS and CPU µs per answered query). Upstream queries per answered name are the lab
NSDs' received queries (their statistics, dumped by SIGUSR1) over the run. The query lists, lab and resolver settings
are bench/run's. Medians over the rounds are printed at the end.

  bench/cold-steady --only ananas,unbound,kresd --rounds 3 [--variant base=/path/to/launcher] [--net 127.77 --zones 2000]
"""
from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402  (bench/run's parts)
from processes import Resolver  # noqa: E402

HZ = 100


def nsd_queries(lab: Path) -> int:
    """The lab NSDs' received queries so far: each dumps its counters (cumulative RQ) to its log on SIGUSR1."""
    logs = sorted((lab / "run").glob("nsd-*.log"))
    sizes = {p: p.stat().st_size for p in logs}
    for pid_file in (lab / "run").glob("nsd-*.pid"):
        subprocess.run(["kill", "-USR1", pid_file.read_text().strip()], check=False)
    total = 0
    for p in logs:
        for _ in range(50):
            tail = p.read_text()[sizes[p]:]
            m = re.findall(r"XSTATS .* RQ=(\d+)", tail)
            if m:
                total += int(m[-1])
                break
            time.sleep(0.05)
        else:
            raise RuntimeError(f"{p}: no statistics after SIGUSR1")
    return total


def run_one(r: Resolver, qfile: Path, cfg, lab: Path, label: str, rate: float | None) -> dict:
    pid = r.process.pid
    q0, c0 = nsd_queries(lab), bench.cpu_seconds(pid)
    perf = bench.dnsperf(r.address, r.port, qfile, cfg.load_cpu, r.work / f"{label}.out", duration=cfg.duration,
                         outstanding=200, rate=rate, timeout=5)
    c1, q1 = bench.cpu_seconds(pid), nsd_queries(lab)
    done = max(perf.completed, 1)
    return {"qps": perf.completed / cfg.duration, "us": (c1 - c0) * 1e6 / done, "up": (q1 - q0) / done,
            "loss": perf.loss, "rcodes": perf.rcodes}


def main() -> int:
    ap = argparse.ArgumentParser(prog="bench/cold-steady", description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", default="ananas,unbound,kresd")
    ap.add_argument("--variant", action="append", default=[],
                    help="NAME=LAUNCHER: another Ananas build to run as NAME (e.g. the build before a change)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--zones", type=int, default=2000)
    ap.add_argument("--net", default="127.77")
    ap.add_argument("--warm", type=float, default=15, help="seconds of cold0.txt flat out first (15)")
    ap.add_argument("--duration", type=float, default=15, help="seconds per measured run (15)")
    ap.add_argument("--rate", type=float, default=3000, help="fixed rate of the CPU run (3000 q/s)")
    ap.add_argument("--server-cpu", default="0")
    ap.add_argument("--load-cpu", default="1")
    cfg = ap.parse_args()
    variants = dict(v.split("=", 1) for v in cfg.variant)
    names = [n for n in cfg.only.split(",") if n] + list(variants)
    lab_args = ["--zones", str(cfg.zones), "--net", cfg.net, "--cpu", cfg.load_cpu, "--signed"]
    lab = Path(subprocess.run([sys.executable, str(bench.LAB), "path", *lab_args], check=True, stdout=subprocess.PIPE,
                              text=True).stdout.strip())
    subprocess.run([sys.executable, str(bench.LAB), "up", *lab_args], check=True, stdout=subprocess.DEVNULL)
    signed = json.loads((lab / "lab.json").read_text())["signed"]
    run_dir = bench.OUT / f"cold-steady-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}"
    w = bench.make_workloads(lab, run_dir / "queries", int(max(cfg.duration, cfg.warm) * 30_000), 3)
    subprocess.run([bench.ANANAS, "version"], check=True, capture_output=True, timeout=900)
    rows: dict[str, list[dict]] = {n: [] for n in names}
    print(f"load average before: {open('/proc/loadavg').read().split()[:3]}", flush=True)
    try:
        for rnd in range(cfg.rounds):
            order = names[rnd % len(names):] + names[:rnd % len(names)]
            for i, name in enumerate(order):
                kind = "ananas" if name in variants else name
                r = bench.make_resolver(kind, names.index(name), argparse.Namespace(address_base=f"{cfg.net}.10", port=5399), run_dir)
                r.work = run_dir / f"{name}-{rnd}"
                r.work.mkdir(parents=True, exist_ok=True)
                if name in variants:
                    saved, bench.ANANAS = bench.ANANAS, variants[name]
                cmd = bench.command(r, lab, 1, 256)
                if name in variants:
                    bench.ANANAS = saved
                bench.check_port_free(r)
                r.process = bench.start(["taskset", "-c", cfg.server_cpu, *cmd], r.work / "server.log", cwd=r.work)
                try:
                    bench.wait_ready(r, w.probe, signed)
                    first = run_one(r, w.cold[0], argparse.Namespace(duration=cfg.warm, load_cpu=cfg.load_cpu), lab, "first", None)
                    fixed = run_one(r, w.cold[1], cfg, lab, "fixed", cfg.rate)
                    flat = run_one(r, w.cold[2], cfg, lab, "flat", None)
                finally:
                    bench.stop(r.process)
                row = {"first_qps": first["qps"], "first_up": first["up"], "fixed_us": fixed["us"], "fixed_up": fixed["up"],
                       "fixed_loss": fixed["loss"], "flat_qps": flat["qps"], "flat_us": flat["us"], "flat_up": flat["up"]}
                rows[name].append(row)
                print(f"round {rnd} {name:10} first {first['qps']:8,.0f} q/s {first['up']:.2f} up/q | at {cfg.rate:,.0f}: "
                      f"{fixed['us']:6.1f} µs/q {fixed['up']:.2f} up/q loss {fixed['loss']:.2f}% | flat {flat['qps']:8,.0f} q/s "
                      f"{flat['us']:6.1f} µs/q {flat['up']:.2f} up/q ({flat['rcodes']})", flush=True)
    finally:
        bench.stop_all()
    print(f"load average after: {open('/proc/loadavg').read().split()[:3]}")
    print(f"\nmedians over {cfg.rounds} rounds ({run_dir}):")
    print("| resolver | first pass q/s | up/q | µs CPU/q at fixed rate | up/q | flat-out q/s | µs CPU/q | up/q |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, rs in rows.items():
        if not rs:
            continue
        m = {k: statistics.median(x[k] for x in rs) for k in rs[0]}
        print(f"| {name} | {m['first_qps']:,.0f} | {m['first_up']:.2f} | {m['fixed_us']:.1f} | {m['fixed_up']:.2f} | "
              f"{m['flat_qps']:,.0f} | {m['flat_us']:.1f} | {m['flat_up']:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
