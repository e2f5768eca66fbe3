#!/usr/bin/env python3
"""bench/fairness: is a modest client group still answered, and fast, while another group floods misses?

For each resolver in turn (Ananas, Unbound and Knot Resolver by default), started fresh on the lab (bench/lab) and
pinned to one core like bench/run does:

  warm    group B (BASE.20.1) asks its hot set of lab names once
  idle    group B sends RATE q/s for DURATION s: 9 in 10 from the warmed hot set (cache hits), 1 in 10 a lab name
          never asked before (a real resolution); nothing else runs
  flood   group A (BASE.21.1, another /24) floods random-subdomain misses (random labels under the lab's insecure
          zones, so no resolver can answer them from cached NSEC proofs) closed-loop with many queries outstanding,
          as fast as the resolver takes them; after 2 s group B runs the same kind of list (new uncached names) again

Reported for group B in both phases: % answered (NOERROR or NXDOMAIN, as the lab expects; a REFUSED, SERVFAIL or
timeout is not an answer), mean and p99 latency of every query, and of hits and misses apart; for the flood: the q/s
it got answered and its response codes. The load generators run on the other core (with the lab's NSD); the flood at
nice 10, so group B's dnsperf, which sleeps between queries, is not kept waiting for that core by the flood itself.
"""
from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402  (bench/bench.py: lab, resolvers, dnsperf helpers)

RESOLVERS = ["ananas", "unbound", "kresd"]
ANSWERED = ("NOERROR", "NXDOMAIN")


@dataclass
class GroupRun:
    sent: int = 0
    answered: int = 0
    rcodes: dict[str, int] = field(default_factory=dict)
    hits: list[float] = field(default_factory=list)    # ms, answered hot-set names
    misses: list[float] = field(default_factory=list)  # ms, answered names asked for the first time

    @property
    def all(self) -> list[float]:
        return self.hits + self.misses

    @property
    def answered_pct(self) -> float:
        return 100.0 * self.answered / self.sent if self.sent else float("nan")


def mean(values: list[float]) -> float:
    return statistics.fmean(values) if values else float("nan")


def p99(values: list[float]) -> float:
    return bench.percentile(sorted(values), 0.99)


def run_group(r: bench.Resolver, qfile: Path, hot: set[str], cfg, out: Path, source: str) -> GroupRun:
    """Group B at a fixed rate, every reply timed (dnsperf -v: `> RCODE qname qtype seconds`, `> T qname qtype` for a timeout)."""
    args = ["taskset", "-c", cfg.load_cpu, "dnsperf", "-s", r.address, "-p", str(r.port), "-a", source, "-d", str(qfile),
            "-c", "1", "-T", "1", "-q", "200", "-t", str(cfg.timeout), "-Q", str(cfg.rate), "-l", str(cfg.duration), "-v"]
    with open(out, "w") as f:
        subprocess.run(args, stdout=f, stderr=subprocess.STDOUT, timeout=cfg.duration + cfg.timeout + 60)
    g = GroupRun()
    for line in out.read_text().splitlines():
        if not line.startswith("> "):
            continue
        parts = line.split()
        if len(parts) < 4:
            continue
        g.sent += 1
        rcode, qname = parts[1], parts[2].rstrip(".").lower()
        g.rcodes[rcode] = g.rcodes.get(rcode, 0) + 1
        if rcode not in ANSWERED or len(parts) < 5:
            continue
        g.answered += 1
        (g.hits if qname in hot else g.misses).append(float(parts[4]) * 1000)
    return g


def start_flood(r: bench.Resolver, qfile: Path, cfg, out: Path, source: str) -> subprocess.Popen:
    args = ["nice", "-n", "10", "taskset", "-c", cfg.load_cpu, "dnsperf", "-s", r.address, "-p", str(r.port), "-a", source,
            "-d", str(qfile), "-c", "8", "-T", "1", "-q", str(cfg.flood_outstanding), "-t", "1", "-l", str(cfg.duration + 4)]
    f = open(out, "w")
    p = subprocess.Popen(args, stdout=f, stderr=subprocess.STDOUT, start_new_session=True)
    f.close()
    bench._children.append(p)
    return p


def flood_summary(out: Path) -> str:
    qps, rcodes = "?", ""
    for line in out.read_text().splitlines():
        if "Queries per second:" in line:
            qps = f"{float(line.split()[3]):,.0f}"
        elif "Response codes:" in line:
            rcodes = line.split(":", 1)[1].strip()
    return f"{qps} q/s answered ({rcodes or 'none'})"


def make_lists(lab: Path, out: Path, rate: int, duration: float, seed: int = 19) -> tuple[Path, set[str], list[Path], Path]:
    """The hot set (warmed), group B's lists for the two phases, and the flood's list."""
    rng = random.Random(seed)
    names = [line.split("\t") for line in (lab / "names.tsv").read_text().splitlines()]
    names = [(q, t) for q, t, _, rc in names if rc in ANSWERED and t in ("A", "AAAA", "TXT", "MX")]
    rng.shuffle(names)
    hot = names[:500]
    fresh = iter(names[500:])
    out.mkdir(parents=True, exist_ok=True)
    warm = out / "warm.txt"
    warm.write_text("".join(f"{q} {t}\n" for q, t in hot))
    count = int(rate * duration) + rate  # dnsperf stops at the time limit; a little spare
    phases = []
    for phase in ("idle", "flood"):
        path = out / f"group-b-{phase}.txt"
        with open(path, "w") as f:
            for i in range(count):
                q, t = next(fresh) if i % 10 == 9 else hot[rng.randrange(len(hot))]
                f.write(f"{q} {t}\n")
        phases.append(path)
    zones = [line.split("\t") for line in (lab / "zones.tsv").read_text().splitlines()]
    insecure = [z[1] for z in zones if z[2] == "0"]
    flood = out / "flood.txt"
    with open(flood, "w") as f:
        for _ in range(400_000):
            f.write(f"r{rng.getrandbits(40):010x}.{insecure[rng.randrange(len(insecure))]} A\n")
    return warm, {q.rstrip(".").lower() for q, _ in hot}, phases, flood


def row(name: str, version: str, phase: str, g: GroupRun, extra: str) -> str:
    f = bench.fmt
    rc = ", ".join(f"{k} {v}" for k, v in sorted(g.rcodes.items(), key=lambda kv: -kv[1]))
    return (f"| {name} {version} | {phase} | {g.sent} | {f(g.answered_pct, 2)} | {f(mean(g.all), 3)} | {f(p99(g.all), 3)} | "
            f"{f(mean(g.hits), 3)} | {f(p99(g.hits), 3)} | {f(mean(g.misses), 3)} | {f(p99(g.misses), 3)} | {rc} | {extra} |")


def main() -> int:
    ap = argparse.ArgumentParser(prog="bench/fairness", description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", default=",".join(RESOLVERS), help=f"resolvers to run (default {','.join(RESOLVERS)})")
    ap.add_argument("--zones", type=int, default=2000, help="lab size (default 2000)")
    ap.add_argument("--net", default="127.91", help="first two octets of the lab's and the resolvers' addresses (default 127.91)")
    ap.add_argument("--duration", type=float, default=20, help="seconds of each phase (default 20)")
    ap.add_argument("--rate", type=int, default=300, help="group B's queries per second (default 300)")
    ap.add_argument("--flood-outstanding", type=int, default=2000, help="the flood's queries outstanding (default 2000)")
    ap.add_argument("--timeout", type=float, default=2, help="group B's timeout in seconds: later is unanswered (default 2)")
    ap.add_argument("--threads", type=int, default=1, help="worker threads of every resolver (default 1)")
    ap.add_argument("--cache-mb", type=int, default=256)
    ap.add_argument("--server-cpu", default="0")
    ap.add_argument("--load-cpu", default="1")
    ap.add_argument("--port", type=int, default=5399)
    ap.add_argument("--ananas", default=bench.ANANAS, help="the ananas launcher to run (default: this tree's ./ananas)")
    ap.add_argument("--before", help="another ananas launcher (say a checkout before a change), run first in the same run")
    cfg = ap.parse_args()
    cfg.address_base = f"{cfg.net}.10"
    bench.ANANAS = str(Path(cfg.ananas).resolve())
    names = [n for n in cfg.only.split(",") if n]
    for n in names:
        if n not in bench.RESOLVERS:
            ap.error(f"unknown resolver {n!r}")
    launchers = {"ananas": bench.ANANAS}
    if cfg.before:
        names.insert(0, "ananas-before")
        launchers["ananas-before"] = str(Path(cfg.before).resolve())
    source_b, source_a = f"{cfg.net}.20.1", f"{cfg.net}.21.1"

    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    run_dir = bench.OUT / f"fairness-{stamp}"
    run_dir.mkdir(parents=True, exist_ok=True)
    lab_args = ["--zones", str(cfg.zones), "--net", cfg.net, "--cpu", cfg.load_cpu, "--signed"]
    lab = None
    started = time.monotonic()
    try:
        lab = Path(subprocess.run([sys.executable, str(bench.LAB), "path", *lab_args], check=True, stdout=subprocess.PIPE,
                                  text=True).stdout.strip())
        bench.log(f"lab: bench/lab/up {' '.join(lab_args)}")
        subprocess.run([sys.executable, str(bench.LAB), "up", *lab_args], check=True, stdout=subprocess.DEVNULL)
        warm, hot, phases, flood = make_lists(lab, run_dir / "queries", cfg.rate, cfg.duration)
        versions = {}
        for n in names:
            if n in launchers:
                bench.log(f"building {launchers[n]} (Release) if sources changed")
                subprocess.run([launchers[n], "version"], check=True, capture_output=True, timeout=1800)
                bench.ANANAS = launchers[n]
                versions[n] = bench.version_of("ananas")
            else:
                versions[n] = bench.version_of(n)
        lines = [f"## bench/fairness — {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}", "",
                 f"- machine: {bench.machine()}; load average before: {' '.join(open('/proc/loadavg').read().split()[:3])}",
                 f"- lab: {cfg.zones} zones, signed, NSD on CPU {cfg.load_cpu}; resolvers: {cfg.threads} worker thread(s), "
                 f"{cfg.cache_mb} MiB cache, validation on, pinned to CPU {cfg.server_cpu}",
                 f"- group B ({source_b}): {cfg.rate} q/s for {cfg.duration:g} s per phase, 9 in 10 from a warmed hot set "
                 f"of 500 lab names, 1 in 10 a lab name not asked before; timeout {cfg.timeout:g} s",
                 f"- group A ({source_a}): random-subdomain misses under the lab's insecure zones, dnsperf -c 8 "
                 f"-q {cfg.flood_outstanding} -t 1 at nice 10, from 2 s before group B's flood phase to its end",
                 "", "| resolver | phase | B sent | B answered % | B mean ms | B p99 ms | hits mean | hits p99 | "
                 "misses mean | misses p99 | B rcodes | flood |",
                 "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|"]
        for i, name in enumerate(names):
            r = bench.make_resolver(name, i, cfg, run_dir)
            if name in launchers:
                bench.ANANAS = launchers[name]
                r.name = "ananas"
            cmd = bench.command(r, lab, cfg.threads, cfg.cache_mb)
            bench.log(f"{name} {versions[name]}: {' '.join(cmd)} on {r.address}:{r.port} (CPU {cfg.server_cpu})")
            bench.check_port_free(r)
            r.process = bench.start(["taskset", "-c", cfg.server_cpu, *cmd], r.work / "server.log", cwd=r.work)
            try:
                bench.wait_ready(r, f"www.{hot_zone(lab)}", True)
                subprocess.run(["taskset", "-c", cfg.load_cpu, "dnsperf", "-s", r.address, "-p", str(r.port), "-a",
                                source_b, "-d", str(warm), "-n", "1", "-q", "20", "-t", "5"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
                idle = run_group(r, phases[0], hot, cfg, r.work / "group-b-idle.out", source_b)
                bench.log(f"  idle: {idle.answered_pct:.2f}% answered, mean {mean(idle.all):.3f} ms, p99 {p99(idle.all):.3f} ms")
                c0 = bench.cpu_seconds(r.process.pid)
                flooder = start_flood(r, flood, cfg, r.work / "flood.out", source_a)
                time.sleep(2)
                loaded = run_group(r, phases[1], hot, cfg, r.work / "group-b-flood.out", source_b)
                flooder.wait(cfg.duration + 60)
                bench._children.remove(flooder)
                cpu = bench.cpu_seconds(r.process.pid) - c0
                summary = flood_summary(r.work / "flood.out")
                bench.log(f"  flood: {loaded.answered_pct:.2f}% answered, mean {mean(loaded.all):.3f} ms, "
                          f"p99 {p99(loaded.all):.3f} ms; flood {summary}; server CPU {cpu:.1f} s")
                lines.append(row(name, versions[name], "idle", idle, ""))
                lines.append(row(name, versions[name], "flood", loaded, f"{summary}; server CPU {cpu:.1f} s"))
            except (RuntimeError, subprocess.TimeoutExpired) as e:
                bench.log(f"{name}: {e}")
            finally:
                bench.stop(r.process)
        lines.append("")
        lines.append(f"- load average after: {' '.join(open('/proc/loadavg').read().split()[:3])}; "
                     f"run took {time.monotonic() - started:.0f} s")
        text = "\n".join(lines) + "\n"
        (run_dir / "report.md").write_text(text)
        print(text)
        bench.log(f"written {run_dir / 'report.md'}")
        return 0
    except KeyboardInterrupt as e:
        bench.log(f"interrupted ({e})")
        return 130
    finally:
        bench.stop_all()
        if lab is not None:
            subprocess.run([sys.executable, str(bench.LAB), "down", "--dir", str(lab)], capture_output=True)


def hot_zone(lab: Path) -> str:
    return (lab / "zones.tsv").read_text().split("\n", 1)[0].split("\t")[1]


if __name__ == "__main__":
    import signal
    signal.signal(signal.SIGTERM, bench._on_signal)
    sys.exit(main())
