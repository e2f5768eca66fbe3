"""bench/run's measurements (throughput, latency, CPU and memory of a resolver per workload) and the report
that compares them."""
from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from processes import Resolver, log
from workloads import Workloads

HZ = os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------------------------------------------------------
# Measuring


@dataclass
class Perf:
    sent: int = 0
    completed: int = 0
    lost: int = 0
    qps: float = 0.0
    rcodes: str = ""
    latencies: list[float] = field(default_factory=list)

    @property
    def loss(self) -> float:
        return 100.0 * self.lost / self.sent if self.sent else 100.0


def dnsperf(address: str, port: int, qfile: Path, cpu: str, out: Path, *, duration: float | None = None,
            runs: int | None = None, outstanding: int = 100, rate: float | None = None, verbose: bool = False,
            timeout: float = 2, edns: bool = False, clients: int = 4, threads: int = 2) -> Perf:
    # dnsperf shares `outstanding` among its threads: one query at a time needs one thread (and one client).
    args = ["taskset", "-c", cpu, "dnsperf", "-s", address, "-p", str(port), "-d", str(qfile), "-c", str(clients), "-T", str(threads),
            "-q", str(outstanding), "-t", str(timeout)]
    if duration:
        args += ["-l", str(duration)]
    if runs:
        args += ["-n", str(runs)]
    if rate:
        args += ["-Q", str(max(1, int(rate)))]
    if verbose:
        args.append("-v")
    if edns:
        args.append("-e")
    with open(out, "w") as f:
        subprocess.run(args, stdout=f, stderr=subprocess.STDOUT, timeout=(duration or 600) + timeout + 60)
    p = Perf()
    with open(out) as f:
        for line in f:
            if line.startswith("> "):
                try:
                    p.latencies.append(float(line.rsplit(None, 1)[1]))
                except ValueError:
                    pass
            elif "Queries sent:" in line:
                p.sent = int(line.split()[2])
            elif "Queries completed:" in line:
                p.completed = int(line.split()[2])
            elif "Queries lost:" in line:
                p.lost = int(line.split()[2])
            elif "Queries per second:" in line:
                p.qps = float(line.split()[3])
            elif "Response codes:" in line:
                p.rcodes = line.split(":", 1)[1].strip()
    return p


def cpu_seconds(pid: int) -> float:
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / HZ


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, max(0, int(p * len(sorted_values) + 0.999999) - 1))]


@dataclass
class Result:
    qps: float = 0.0
    loss: float = 0.0
    p50: float = float("nan")
    p99: float = float("nan")
    p999: float = float("nan")
    cpu_per_100k: float = float("nan")
    rss: float = 0.0
    latency_rate: float = float("nan")  # q/s of the run the percentiles come from
    note: str = ""


def throughput(r: Resolver, files: list[Path], cfg, label: str, outstanding: int, verbose: bool,
               timeout: float = 2) -> tuple[Result, Perf]:
    """Closed-loop run; if it loses more than 1%, open-loop at 80% of what it reached (next file, for cold)."""
    pid = r.process.pid
    rate = None
    res = Result()
    perf = Perf()
    notes = []
    for attempt in range(3):
        qfile = files[min(attempt, len(files) - 1)]
        c0 = cpu_seconds(pid)
        perf = dnsperf(r.address, r.port, qfile, cfg.load_cpu, r.work / f"{label}-{attempt}.out",
                       duration=cfg.duration, outstanding=outstanding, rate=rate, verbose=verbose, timeout=timeout)
        c1 = cpu_seconds(pid)
        res = Result(qps=perf.completed / cfg.duration if perf.qps == 0 else perf.qps, loss=perf.loss,
                     cpu_per_100k=(c1 - c0) * 100_000 / perf.completed if perf.completed else float("nan"))
        log(f"  {label}: {perf.completed} answered, {res.qps:,.0f} q/s, loss {perf.loss:.2f}%"
            f"{f' (open loop at {rate:,.0f} q/s)' if rate else ''}; {perf.rcodes}")
        if perf.loss <= 1.0 or perf.completed == 0:
            break
        notes.append(f"{perf.loss:.0f}% lost at {res.qps:,.0f} q/s")
        rate = 0.8 * perf.completed / cfg.duration
    if res.loss > 1.0:
        notes.append(f"loss {res.loss:.1f}% > 1%")
    res.note = "; ".join(notes)
    return res, perf


def latency_rate(res: Result, cfg) -> int:
    """The fixed rate of a latency run: --latency-rate, or half the measured throughput if that is lower, so the
    run stays below saturation (a saturated run measures dnsperf's queue, not the server)."""
    return int(min(cfg.latency_rate, max(100, res.qps / 2)))


def set_latency(res: Result, latencies: list[float]) -> None:
    lat = sorted(latencies)
    res.p50, res.p99, res.p999 = (percentile(lat, p) * 1000 for p in (0.5, 0.99, 0.999))


def measure(r: Resolver, w: Workloads, cfg) -> dict[str, Result]:
    results = {}
    pid = r.process.pid
    # cold: every query a miss; latency from the same run.
    # A cold resolution through the lab can take seconds on a loaded machine: dnsperf's default 5 s timeout here.
    if "cold" in cfg.workloads:
        res, perf = throughput(r, w.cold, cfg, "cold", cfg.cold_outstanding, verbose=True, timeout=5)
        set_latency(res, perf.latencies)
        res.latency_rate = res.qps
        res.rss = peak_rss_mib(pid)
        results["cold"] = res
    if "cached" in cfg.workloads:
        results["cached"] = measure_cached(r, w, cfg)
    if "mixed" in cfg.workloads:
        results["mixed"] = measure_mixed(r, w, cfg)
    return results


def measure_cached(r: Resolver, w: Workloads, cfg) -> Result:
    """cached: warm the hot set, then throughput, then latency at a fixed rate."""
    dnsperf(r.address, r.port, w.hot, cfg.load_cpu, r.work / "warm.out", runs=1, outstanding=20)
    res, _ = throughput(r, [w.hot], cfg, "cached", 100, verbose=False)
    res.latency_rate = latency_rate(res, cfg)
    # 3 s at the fixed rate first, unmeasured, for every resolver: a server at a fixed rate takes paths that flat
    # out it does not (one datagram per receive, the idle wait), and .NET's JIT recompiles those in their first
    # seconds, stalling the core for milliseconds (bench/dnsperf/cpu-per-query.sh explains how it was seen).
    dnsperf(r.address, r.port, w.hot, cfg.load_cpu, r.work / "cached-latency-warm.out", duration=3, rate=res.latency_rate)
    lat = dnsperf(r.address, r.port, w.hot, cfg.load_cpu, r.work / "cached-latency.out", duration=cfg.duration,
                  rate=res.latency_rate, verbose=True)
    set_latency(res, lat.latencies)
    log(f"  cached at {res.latency_rate} q/s: p50 {res.p50:.3f} ms, p99 {res.p99:.3f} ms, p99.9 {res.p999:.3f} ms"
        f" (loss {lat.loss:.2f}%)")
    res.rss = peak_rss_mib(r.process.pid)
    return res


def measure_mixed(r: Resolver, w: Workloads, cfg) -> Result:
    """mixed: Zipf over the lab, 5% NXDOMAIN, on the cache the earlier workloads left."""
    res, _ = throughput(r, [w.mixed], cfg, "mixed", cfg.cold_outstanding, verbose=False)
    res.latency_rate = latency_rate(res, cfg)
    lat = dnsperf(r.address, r.port, w.mixed, cfg.load_cpu, r.work / "mixed-latency.out", duration=cfg.duration,
                  rate=res.latency_rate, verbose=True)
    set_latency(res, lat.latencies)
    log(f"  mixed at {res.latency_rate} q/s: p50 {res.p50:.3f} ms, p99 {res.p99:.3f} ms, p99.9 {res.p999:.3f} ms"
        f" (loss {lat.loss:.2f}%)")
    res.rss = peak_rss_mib(r.process.pid)
    return res


# ---------------------------------------------------------------------------------------------------------------
# Report


def fmt(x: float, digits: int = 2) -> str:
    if x != x:  # NaN
        return "–"
    return f"{x:,.{digits}f}"


def ratio(a: float, b: float) -> str:
    if a != a or b != b or b == 0:
        return "–"
    return f"{a / b:.2f}"


def report(results: dict[str, dict[str, Result]], versions: dict[str, str], header: list[str]) -> str:
    lines = header[:]
    for wl in ("cached", "cold", "mixed"):
        if not any(wl in per for per in results.values()):
            continue
        lines += ["", f"### {wl}", "",
                  "| resolver | QPS (≤1% loss) | loss % | latency at q/s | p50 ms | p99 ms | p99.9 ms | CPU s / 100k q |"
                  " peak RSS MiB | Ananas/peer QPS | Ananas/peer p99 | Ananas/peer CPU | Ananas/peer RSS |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        a = results.get("ananas", {}).get(wl)
        for name, per in results.items():
            r = per.get(wl)
            if r is None:
                continue
            ratios = ["", "", "", ""] if name == "ananas" or a is None else [
                ratio(a.qps, r.qps), ratio(a.p99, r.p99), ratio(a.cpu_per_100k, r.cpu_per_100k), ratio(a.rss, r.rss)]
            label = f"{name} {versions.get(name, '')}".strip() + (f" ({r.note})" if r.note else "")
            lines.append(f"| {label} | {fmt(r.qps, 0)} | {fmt(r.loss)} | {fmt(r.latency_rate, 0)} | {fmt(r.p50, 3)} | "
                         f"{fmt(r.p99, 3)} | {fmt(r.p999, 3)} | {fmt(r.cpu_per_100k)} | {fmt(r.rss, 0)} | " + " | ".join(ratios) + " |")
    return "\n".join(lines) + "\n"


def machine() -> str:
    model = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores, {model}, Linux {os.uname().release}, {memory:.0f} GiB"
