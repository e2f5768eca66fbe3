#!/usr/bin/env python3
"""bench/run: Ananas side by side with Unbound, Knot Resolver, PowerDNS Recursor and BIND on the lab (bench/lab).

For each resolver in turn: start it with a fresh cache on its own loopback address (pinned to one core), check that
it resolves (and, for the validators, validates) a lab name, then run three dnsperf workloads from another core:

  cold    unique names (every query a cache miss: random labels under the lab's wildcard zones, so the first
          pass also reaches every zone for the first time); run first, on the empty cache
  cached  a hot set of 1,000 names, after one warm-up pass
  mixed   Zipf (s = 0.9) over every name in the lab, 5% of queries for names that do not exist (NXDOMAIN)

Throughput is measured closed-loop (dnsperf keeps a fixed number of queries outstanding); if more than 1% is lost the
run is repeated open-loop at 80% of the rate it reached. Latency percentiles come from a separate fixed-rate run
(the same rate for every resolver, below saturation) for cached and mixed, and from the throughput run for cold.
CPU seconds per 100k queries are the server's user + system time (/proc/PID/stat) over the throughput run; peak RSS
is VmHWM after the workload (so it includes the earlier ones).

`--cross-check` instead sends the mixed workload's distinct queries to Ananas and to Unbound and reports every
difference in rcode and answer RRsets (TTL and order ignored). `--shadow` runs `ananas shadow` (Ananas the target,
Unbound the reference) on the same questions instead and keeps its respdiff-like report.
"""
from __future__ import annotations

import argparse
import collections
import ipaddress
import json
import os
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PEERS = REPO / "bench" / "peers"
LAB = REPO / "bench" / "lab" / "lab.py"
OUT = REPO / ".build" / "bench"
HZ = os.sysconf("SC_CLK_TCK")
WORKLOADS = ["cold", "cached", "mixed"]  # run in this order: mixed runs on the cache the earlier ones left
RESOLVERS = ["ananas", "unbound", "kresd", "pdns-recursor", "named"]
ANANAS = str(REPO / "ananas")  # the launcher (builds Release when sources changed); --ananas points elsewhere
APT_PACKAGES = "nsd ldnsutils dnsutils dnsperf unbound knot-resolver pdns-recursor bind9"


def log(msg: str) -> None:
    print(f"bench: {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------------------------
# Processes: everything started here is recorded and killed on exit, on Ctrl-C and on SIGTERM.

_children: list[subprocess.Popen] = []


def start(args: list[str], logfile: Path, cwd: Path | None = None) -> subprocess.Popen:
    with open(logfile, "wb") as out:
        p = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=cwd,
                             start_new_session=True)
    _children.append(p)
    return p


def stop(p: subprocess.Popen) -> None:
    if p.poll() is None:
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except OSError:
            pass
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except OSError:
                pass
            p.wait(5)
    if p in _children:
        _children.remove(p)


def stop_all() -> None:
    for p in list(_children):
        stop(p)


def _on_signal(signum, _frame):
    raise KeyboardInterrupt(f"signal {signum}")


# ---------------------------------------------------------------------------------------------------------------
# Resolvers

@dataclass
class Resolver:
    name: str
    address: str
    port: int
    work: Path
    validates: bool = True
    process: subprocess.Popen | None = None
    version: str = ""

    def render(self, template: str, lab: Path, values: dict[str, str], out_name: str | None = None) -> Path:
        text = (PEERS / template).read_text()
        for k, v in values.items():
            text = text.replace(f"@{k}@", v)
        left = re.findall(r"@[A-Z_]+@", text)
        if left:
            raise RuntimeError(f"{template}: unfilled placeholders {sorted(set(left))}")
        path = self.work / (out_name or template)
        path.write_text(text)
        return path


def make_resolver(name: str, index: int, cfg, run_dir: Path) -> Resolver:
    if name == "named":
        # named binds only addresses configured on an interface; lo carries 127.0.0.1, not the rest of 127/8.
        address, port = "127.0.0.1", free_port()
    else:
        address, port = f"{cfg.address_base}.{index + 1}", cfg.port
    r = Resolver(name, address, port, run_dir / name, validates=name != "ananas")
    r.work.mkdir(parents=True, exist_ok=True)
    return r


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u, socket.socket() as t:
        u.bind(("127.0.0.1", 0))
        port = u.getsockname()[1]
        t.bind(("127.0.0.1", port))
        return port


def root_ds(lab: Path) -> tuple[str, str]:
    """The lab root's DS as PowerDNS wants it ('tag alg type digest') and as BIND's static-ds wants it."""
    fields = (lab / "trust-anchor.ds").read_text().split()
    tag, alg, dtype, digest = fields[4:8]
    return f"{tag} {alg} {dtype} {digest}", f'{tag} {alg} {dtype} "{digest}"'


def command(r: Resolver, lab: Path, threads: int, cache_mb: int) -> list[str]:
    values = {"ADDR": r.address, "PORT": str(r.port), "LAB": str(lab), "WORK": str(r.work),
              "THREADS": str(threads), "CACHE_MB": str(cache_mb),
              "CACHE_MB_THIRD": str(cache_mb // 3), "CACHE_MB_TWO_THIRDS": str(cache_mb - cache_mb // 3)}
    if r.name == "ananas":
        conf = r.render("ananas.toml", lab, values)
        return [ANANAS, "serve", "--config", str(conf)]
    if r.name == "unbound":
        conf = r.render("unbound.conf", lab, values)
        return ["unbound", "-d", "-c", str(conf)]
    if r.name == "kresd":
        conf = r.render("kresd.conf", lab, values)
        return ["kresd", "-n", "-c", str(conf), str(r.work)]
    if r.name == "pdns-recursor":
        pdns_ds, _ = root_ds(lab)
        r.render("recursor.lua", lab, {"ROOT_DS": pdns_ds})
        r.render("recursor.conf", lab, values)
        return ["pdns_recursor", f"--config-dir={r.work}"]
    if r.name == "named":
        _, bind_ds = root_ds(lab)
        conf = r.render("named.conf", lab, {**values, "ROOT_DS_BIND": bind_ds})
        return ["named", "-g", "-c", str(conf), "-n", str(threads)]
    raise ValueError(r.name)


def version_of(name: str) -> str:
    cmd = {"ananas": [ANANAS, "version"], "unbound": ["unbound", "-V"], "kresd": ["kresd", "--version"],
           "pdns-recursor": ["pdns_recursor", "--version"], "named": ["named", "-v"]}[name]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    text = (r.stdout + r.stderr).strip()
    for line in text.splitlines():
        m = re.search(r"\d+\.\d+[\w.\-+~]*", line)
        if m and ("version" in line.lower() or line.lower().startswith(("bind", "knot", "ananas")) or name == "named"):
            return m.group(0)
    m = re.search(r"\d+\.\d+[\w.\-+~]*", text)
    return m.group(0) if m else "?"


def dig(address: str, port: int, qname: str, qtype: str = "A", dnssec: bool = False) -> str:
    args = ["dig", "+tries=1", "+time=2", "-p", str(port), f"@{address}", qname, qtype]
    if dnssec:
        args.append("+dnssec")
    try:
        return subprocess.run(args, capture_output=True, text=True, timeout=10).stdout
    except subprocess.TimeoutExpired:
        return ""


def check_port_free(r: Resolver) -> None:
    """Refuses to start a resolver where something already answers: the run would measure that other server."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind((r.address, r.port))
        except OSError as e:
            raise RuntimeError(f"{r.address}:{r.port} (UDP) is already in use ({e.strerror}): stop whatever listens there "
                               f"(ss -lunp 'sport = :{r.port}') before measuring {r.name}") from None


def wait_ready(r: Resolver, probe: str, signed: bool, timeout: float = 90) -> None:
    """Waits until the resolver answers a lab name; checks the AD bit on a signed lab for the validators."""
    deadline = time.monotonic() + timeout
    while True:
        if r.process and r.process.poll() is not None:
            raise RuntimeError(f"{r.name} exited ({r.process.returncode}); log: {r.work / 'server.log'}")
        out = dig(r.address, r.port, probe, "A", dnssec=True)
        if "status: NOERROR" in out and "ANSWER: 0" not in out:
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"{r.name} does not resolve {probe} after {timeout:.0f} s; last answer:\n{out}\n"
                               f"log: {r.work / 'server.log'}")
        time.sleep(0.5)
    flags = re.search(r";; flags: ([a-z ]+);", out)
    ad = bool(flags and " ad" in f" {flags.group(1)}")
    if signed and r.validates and not ad:
        raise RuntimeError(f"{r.name} answers {probe} without AD on the signed lab: validation is not working")
    if signed and ad != r.validates:
        log(f"  {r.name}: AD={ad}")


# ---------------------------------------------------------------------------------------------------------------
# Workloads (query files are made once per lab and seed, from the lab's names.tsv and zones.tsv)

@dataclass
class Workloads:
    hot: Path
    mixed: Path
    cold: list[Path]
    probe: str


def zipf_choices(rng: random.Random, items: list, s: float, k: int) -> list:
    cum = []
    total = 0.0
    for rank in range(1, len(items) + 1):
        total += 1.0 / rank ** s
        cum.append(total)
    return rng.choices(items, cum_weights=cum, k=k)


def make_workloads(lab: Path, out: Path, cold_size: int, cold_chunks: int, seed: int = 9) -> Workloads:
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    names = []
    for line in (lab / "names.tsv").read_text().splitlines():
        q, t, idx, rc = line.split("\t")
        names.append((q, t, rc))
    zones = [line.split("\t") for line in (lab / "zones.tsv").read_text().splitlines()]
    order = names[:]
    rng.shuffle(order)  # popularity rank: a fixed random order of every (name, type) in the lab

    hot = out / "hot.txt"
    hot.write_text("".join(f"{q} {t}\n" for q, t, rc in order[:1000] if rc == "NOERROR"))

    mixed = out / "mixed.txt"
    picks = zipf_choices(rng, order, 0.9, 200_000)
    plain = [z for z in zones if z[5] == "0"]  # zones without a wildcard: a name that is not there is NXDOMAIN
    ranked_plain = plain[:]
    rng.shuffle(ranked_plain)
    nx_zones = zipf_choices(rng, ranked_plain, 0.9, 200_000) if ranked_plain else []
    with open(mixed, "w") as f:
        for i, (q, t, rc) in enumerate(picks):
            if nx_zones and rng.random() < 0.05:
                f.write(f"nx{rng.randrange(1 << 30):x}.{nx_zones[i][1]} A\n")
            else:
                f.write(f"{q} {t}\n")

    wild = [z[1] for z in zones if z[5] == "1"]
    rng.shuffle(wild)
    cold = []
    serial = 0
    for c in range(cold_chunks):
        path = out / f"cold{c}.txt"
        with open(path, "w") as f:
            for i in range(cold_size):
                serial += 1
                f.write(f"c{serial}.{wild[(serial - 1) % len(wild)]} {'A' if serial % 4 else 'TXT'}\n")
        cold.append(path)
    return Workloads(hot, mixed, cold, probe=f"www.{zones[0][1]}")


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


# ---------------------------------------------------------------------------------------------------------------
# Cross-check: a tiny DNS client (UDP, TCP on truncation) so both resolvers see exactly the same queries.

QTYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "MX": 15, "TXT": 16, "AAAA": 28, "SRV": 33, "DNAME": 39,
          "DS": 43, "RRSIG": 46, "NSEC": 47, "DNSKEY": 48, "NSEC3": 50}
TYPE_NAMES = {v: k for k, v in QTYPES.items()}
RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}


def encode_query(qid: int, qname: str, qtype: str, *, ad: bool = False, cd: bool = False, do: bool = False) -> bytes:
    """A recursive query with EDNS (1232); ad, cd and do set those bits (RFC 6840 §5.7-5.9, RFC 3225)."""
    wire = b"".join(bytes([len(label)]) + label.encode() for label in qname.rstrip(".").split(".") if label) + b"\0"
    opt = b"\0" + struct.pack("!HHIH", 41, 1232, 0x8000 if do else 0, 0)
    flags = 0x0100 | (0x0020 if ad else 0) | (0x0010 if cd else 0)
    return struct.pack("!HHHHHH", qid, flags, 1, 0, 0, 1) + wire + struct.pack("!HH", QTYPES[qtype], 1) + opt


def read_name(msg: bytes, pos: int) -> tuple[str, int]:
    labels = []
    end = None
    for _ in range(128):
        n = msg[pos]
        if n & 0xC0 == 0xC0:
            if end is None:
                end = pos + 2
            pos = ((n & 0x3F) << 8) | msg[pos + 1]
            continue
        if n == 0:
            return ".".join(labels).lower() + ".", end if end is not None else pos + 1
        labels.append(msg[pos + 1:pos + 1 + n].decode("latin-1"))
        pos += 1 + n
    raise ValueError("name loop")


def rdata_text(msg: bytes, rtype: int, pos: int, length: int) -> str:
    data = msg[pos:pos + length]
    if rtype == 1:
        return str(ipaddress.IPv4Address(data))
    if rtype == 28:
        return str(ipaddress.IPv6Address(data))
    if rtype in (2, 5, 12, 39):
        return read_name(msg, pos)[0]
    if rtype == 15:
        return f"{struct.unpack('!H', data[:2])[0]} {read_name(msg, pos + 2)[0]}"
    if rtype == 6:
        mname, p = read_name(msg, pos)
        rname, p = read_name(msg, p)
        return f"{mname} {rname} " + " ".join(map(str, struct.unpack("!IIIII", msg[p:p + 20])))
    return data.hex()


def parse_answer(msg: bytes) -> tuple[str, frozenset, bool, str]:
    """rcode, answer RRs (RRSIGs left out), TC, and the Extended DNS Error (RFC 8914) if there is one."""
    flags, qd, an, ns, ar = struct.unpack("!HHHHH", msg[2:12])
    pos = 12
    for _ in range(qd):
        pos = read_name(msg, pos)[1] + 4
    rrs = set()
    ede = ""
    for i in range(an + ns + ar):
        owner, pos = read_name(msg, pos)
        rtype, _cls, _ttl, length = struct.unpack("!HHIH", msg[pos:pos + 10])
        pos += 10
        if i < an and rtype != 46:  # RRSIG: we did not ask for DNSSEC records
            rrs.add((owner, TYPE_NAMES.get(rtype, str(rtype)), rdata_text(msg, rtype, pos, length)))
        elif rtype == 41:
            opt = pos
            while opt + 4 <= pos + length:
                code, olen = struct.unpack("!HH", msg[opt:opt + 4])
                if code == 15 and olen >= 2:
                    info = struct.unpack("!H", msg[opt + 4:opt + 6])[0]
                    ede = f"EDE {info} {msg[opt + 6:opt + 4 + olen].decode('utf-8', 'replace')}".strip()
                opt += 4 + olen
        pos += length
    return RCODES.get(flags & 0xF, str(flags & 0xF)), frozenset(rrs), bool(flags & 0x0200), ede


def exchange(address: str, port: int, query: bytes, timeout: float) -> bytes | None:
    """One query over UDP (two tries), asked again over TCP when the reply is truncated; None when nothing answers."""
    for _ in range(2):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(timeout)
            s.sendto(query, (address, port))
            try:
                while True:
                    msg, _ = s.recvfrom(65535)
                    if msg[:2] == query[:2]:
                        break
            except socket.timeout:
                continue
        if not msg[2] & 0x02:
            return msg
        with socket.create_connection((address, port), timeout=timeout) as t:
            t.sendall(struct.pack("!H", len(query)) + query)
            buf = b""
            while len(buf) < 2 or len(buf) < 2 + struct.unpack("!H", buf[:2])[0]:
                chunk = t.recv(65535)
                if not chunk:
                    break
                buf += chunk
            return buf[2:]
    return None


def ask(address: str, port: int, qname: str, qtype: str, timeout: float = 4.0) -> tuple[str, frozenset, str]:
    msg = exchange(address, port, encode_query(random.randrange(65536), qname, qtype), timeout)
    if msg is None:
        return "TIMEOUT", frozenset(), ""
    rcode, rrs, _, ede = parse_answer(msg)
    return rcode, rrs, ede


def shape(qname: str) -> str:
    """A name's pattern, for grouping differences: digits and random labels folded."""
    labels = qname.rstrip(".").split(".")
    out = []
    for l in labels:
        if re.fullmatch(r"nx[0-9a-f]+", l):
            out.append("nx*")
        elif re.fullmatch(r"c\d+", l):
            out.append("c*")
        else:
            out.append(re.sub(r"\d+", "N", l))
    return ".".join(out)


def cross_check(a: Resolver, b: Resolver, queries: list[tuple[str, str]], zones: dict[str, list[str]]) -> str:
    def both(q):
        return q, ask(a.address, a.port, *q), ask(b.address, b.port, *q)

    classes: dict[tuple, list] = collections.defaultdict(list)
    rcodes: collections.Counter = collections.Counter()
    answers = 0
    same = 0
    done = 0
    last = time.monotonic()
    with ThreadPoolExecutor(16) as pool:
        for (qname, qtype), (ra, sa, ea), (rb, sb, eb) in pool.map(both, queries):
            done += 1
            if time.monotonic() - last > 5:
                log(f"  cross-check: {done}/{len(queries)}")
                last = time.monotonic()
            rcodes[ra] += 1
            answers += len(sa)
            if ra == rb and sa == sb and ra != "TIMEOUT":
                same += 1
                continue
            zone = ".".join(qname.rstrip(".").split(".")[-2:]) if qname != "." else "."
            z = zones.get(zone)
            zinfo = f"zone {'signed ' + z[3] + '/' + z[4] if z and z[2] == '1' else 'unsigned'}" if z else "zone ?"
            if ra != rb:
                kind = f"rcode {a.name} {ra} vs {b.name} {rb}"
            else:
                ta = sorted({t for _, t, _ in sa})
                tb = sorted({t for _, t, _ in sb})
                kind = f"answer differs ({a.name} types {ta}, {b.name} types {tb})"
            classes[(kind, qtype, shape(qname), zinfo)].append((qname, sorted(sa), sorted(sb), ea, eb))
    lines = [f"{len(queries)} distinct queries; {same} identical; {len(queries) - same} differ in "
             f"{len(classes)} classes (a timeout on both sides counts as a difference)",
             f"{a.name}'s rcodes: {dict(rcodes.most_common())}; {answers} answer records in all", ""]
    for (kind, qtype, pattern, zinfo), items in sorted(classes.items(), key=lambda kv: -len(kv[1])):
        lines.append(f"- {len(items)} × {kind}; {qtype} {pattern} ({zinfo})")
        for qname, xa, xb, ea, eb in items[:3]:
            lines.append(f"    {qname} {qtype}: {a.name} {xa[:4]} {ea}  {b.name} {xb[:4]} {eb}".rstrip())
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------------------------

def install() -> None:
    missing = [p for p in APT_PACKAGES.split() if subprocess.run(["dpkg", "-s", p], capture_output=True).returncode]
    if missing or not shutil.which("dotnet"):
        log(f"installing {' '.join(missing) or '(nothing missing)'} through scripts/setup.sh")
        env = {**os.environ, "ANANAS_APT_PACKAGES": APT_PACKAGES}
        subprocess.run([str(REPO / "scripts" / "setup.sh")], env=env, check=True)


def main() -> int:
    global ANANAS
    ap = argparse.ArgumentParser(prog="bench/run", description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="a smaller lab and 5-second runs (under 5 minutes)")
    ap.add_argument("--cross-check", action="store_true", help="compare Ananas's answers with Unbound's instead")
    ap.add_argument("--shadow", action="store_true",
                    help="run `ananas shadow` (Ananas against Unbound, respdiff-like report) on the cross-check's questions")
    ap.add_argument("--only", default=",".join(RESOLVERS), help=f"resolvers to run (default {','.join(RESOLVERS)})")
    ap.add_argument("--workloads", default=",".join(WORKLOADS),
                    help=f"workloads to run, in their fixed order (default {','.join(WORKLOADS)})")
    ap.add_argument("--zones", type=int, help="lab size (default 10000; 2000 with --quick)")
    ap.add_argument("--unsigned", action="store_true", help="run on an unsigned lab (default: signed)")
    ap.add_argument("--duration", type=float, help="seconds per dnsperf run (default 20; 5 with --quick)")
    ap.add_argument("--latency-rate", type=int, default=5000, help="fixed query rate of the latency runs (5000)")
    ap.add_argument("--threads", type=int, default=1, help="worker threads of every resolver (default 1)")
    ap.add_argument("--cache-mb", type=int, default=256, help="cache size of every resolver in MiB (default 256)")
    ap.add_argument("--server-cpu", default="0", help="CPU for the resolver (taskset list, default 0)")
    ap.add_argument("--load-cpu", default="1", help="CPU for dnsperf and the lab's NSD servers (default 1)")
    ap.add_argument("--net", default="127.77", help="first two octets of the lab's loopback addresses (default 127.77)")
    ap.add_argument("--address-base", help="resolvers listen on BASE.1 .. BASE.5 (default NET.10)")
    ap.add_argument("--port", type=int, default=5399)
    ap.add_argument("--queries", type=int, help="cross-check and shadow: distinct queries (default 5000; 1500 with --quick)")
    ap.add_argument("--ananas", default=ANANAS, help="the ananas launcher to run (default: this tree's ./ananas)")
    ap.add_argument("--no-install", action="store_true", help="do not install missing packages")
    cfg = ap.parse_args()
    cfg.zones = cfg.zones or (2000 if cfg.quick else 10000)
    cfg.duration = cfg.duration or (5 if cfg.quick else 20)
    cfg.cold_outstanding = 200
    cfg.address_base = cfg.address_base or f"{cfg.net}.10"
    ANANAS = str(Path(cfg.ananas).resolve())
    names = [n for n in cfg.only.split(",") if n]
    for n in names:
        if n not in RESOLVERS:
            ap.error(f"unknown resolver {n!r}")
    cfg.workloads = [n for n in cfg.workloads.split(",") if n]
    for n in cfg.workloads:
        if n not in WORKLOADS:
            ap.error(f"unknown workload {n!r}")
    if cfg.cross_check or cfg.shadow:
        names = ["ananas", "unbound"]
        cfg.unsigned = False

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGHUP, _on_signal)
    if not cfg.no_install:
        install()
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    run_dir = OUT / f"run-{stamp}"
    run_dir.mkdir(parents=True, exist_ok=True)
    # A run leaves a few hundred MB (query lists, per-reply dnsperf output): keep the newest five.
    for old in sorted(OUT.glob("run-*"))[:-5]:
        shutil.rmtree(old, ignore_errors=True)
    lab_args = ["--zones", str(cfg.zones), "--net", cfg.net, "--cpu", cfg.load_cpu] + ([] if cfg.unsigned else ["--signed"])
    lab: Path | None = None
    started_at = time.monotonic()
    try:
        log(f"lab: bench/lab/up {' '.join(lab_args)}")
        # The lab's directory first, so an interrupt while it starts still stops it.
        lab = Path(subprocess.run([sys.executable, str(LAB), "path", *lab_args], check=True, stdout=subprocess.PIPE,
                                  text=True).stdout.strip())
        subprocess.run([sys.executable, str(LAB), "up", *lab_args], check=True, stdout=subprocess.DEVNULL)
        lab_params = json.loads((lab / "lab.json").read_text())
        cold_size = int(max(cfg.duration * 20_000, 50_000))
        w = make_workloads(lab, run_dir / "queries", cold_size, 3)
        if "ananas" in names:
            log("building ananas (Release) if sources changed")
            subprocess.run([ANANAS, "version"], check=True, capture_output=True, timeout=900)
        versions = {n: version_of(n) for n in names}

        if cfg.cross_check or cfg.shadow:
            return run_cross_check(cfg, lab, w, run_dir, versions)

        header = [f"## bench/run {'--quick ' if cfg.quick else ''}— {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}", "",
                  f"- machine: {machine()}; load average before: {' '.join(open('/proc/loadavg').read().split()[:3])}",
                  f"- lab: {lab_params['zones']} zones, {'signed' if lab_params['signed'] else 'unsigned'}, NSD on "
                  f"{len(lab_params['addresses'])}×2 loopback addresses (CPU {cfg.load_cpu})",
                  f"- resolvers: {cfg.threads} worker thread(s), {cfg.cache_mb} MiB cache, pinned to CPU {cfg.server_cpu}; "
                  f"dnsperf on CPU {cfg.load_cpu}; {cfg.duration:g} s per run; latency runs at {cfg.latency_rate} q/s",
                  "- validation: on for every resolver (the lab trust anchor)"]
        results: dict[str, dict[str, Result]] = {}
        for i, name in enumerate(names):
            r = make_resolver(name, i, cfg, run_dir)
            cmd = command(r, lab, cfg.threads, cfg.cache_mb)
            log(f"{name} {versions[name]}: {' '.join(cmd)} on {r.address}:{r.port} (CPU {cfg.server_cpu})")
            check_port_free(r)
            r.process = start(["taskset", "-c", cfg.server_cpu, *cmd], r.work / "server.log", cwd=r.work)
            try:
                wait_ready(r, w.probe, lab_params["signed"])
                results[name] = measure(r, w, cfg)
            except RuntimeError as e:
                log(f"{name}: {e}")
            finally:
                stop(r.process)
        header.append(f"- load average after: {' '.join(open('/proc/loadavg').read().split()[:3])}; "
                      f"run took {time.monotonic() - started_at:.0f} s")
        text = report(results, versions, header)
        (run_dir / "report.md").write_text(text)
        shutil.copy(run_dir / "report.md", OUT / "latest.md")
        print(text)
        log(f"written {run_dir / 'report.md'}")
        return 0 if len(results) == len(names) else 1
    except KeyboardInterrupt as e:
        log(f"interrupted ({e})")
        return 130
    finally:
        stop_all()
        if lab is not None:
            subprocess.run([sys.executable, str(LAB), "down", "--dir", str(lab)], capture_output=True)


def run_cross_check(cfg, lab: Path, w: Workloads, run_dir: Path, versions: dict[str, str]) -> int:
    seen = set()
    queries = []
    limit = cfg.queries or (1500 if cfg.quick else 5000)
    for line in w.mixed.read_text().splitlines():
        q, t = line.split()
        if (q, t) not in seen:
            seen.add((q, t))
            queries.append((q, t))
            if len(queries) >= limit:
                break
    zones = {z[1]: z for z in (line.split("\t") for line in (lab / "zones.tsv").read_text().splitlines())}
    # Corner cases the mixed list does not reach: zone-cut and DNSSEC types, NODATA, CNAMEs to other types, deep
    # wildcard matches, names through out-of-bailiwick servers, TLD and root data. Every 37th zone, so both odd
    # (no wildcard) and even (wildcard) zones.
    corners = [(".", "NS"), (".", "SOA"), (".", "DNSKEY")]
    for tld in ("com", "net", "org", "lab"):
        corners += [(tld, "NS"), (tld, "DS"), (tld, "DNSKEY"), (f"nic.{tld}", "A"), (f"nx.{tld}", "A")]
    for name in list(zones)[::37]:
        corners += [(name, q) for q in ("NS", "SOA", "DS", "DNSKEY", "MX", "SRV")]
        corners += [(f"www.{name}", "MX"), (f"alias.{name}", "AAAA"), (f"alias.{name}", "MX"),
                    (f"cdn.{name}", "AAAA"), (f"a.b.c.{name}", "TXT"), (f"ns1.{name}", "A"), (f"nx.{name}", "MX")]
    rs = []
    for i, name in enumerate(["ananas", "unbound"]):
        r = make_resolver(name, i, cfg, run_dir)
        check_port_free(r)
        r.process = start(["taskset", "-c", cfg.server_cpu, *command(r, lab, cfg.threads, cfg.cache_mb)],
                          r.work / "server.log", cwd=r.work)
        wait_ready(r, w.probe, True)
        rs.append(r)
    if cfg.shadow:
        return run_shadow(cfg, rs[0], rs[1], queries + corners, run_dir, versions)
    log(f"cross-check: {len(queries)} distinct queries from the mixed workload, Ananas {versions['ananas']} vs "
        f"Unbound {versions['unbound']}")
    text = (f"## cross-check — {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n\n"
            f"signed lab of {cfg.zones} zones; rcode and answer RRsets compared, TTL and order ignored, RRSIGs left out\n\n"
            f"### the mixed workload's queries\n\n" + cross_check(rs[0], rs[1], queries, zones)
            + f"\n### corner cases (every 37th zone, the TLDs, the root)\n\n" + cross_check(rs[0], rs[1], corners, zones))
    (run_dir / "cross-check.md").write_text(text)
    print(text)
    log(f"written {run_dir / 'cross-check.md'}")
    return 0


def run_shadow(cfg, ananas: Resolver, unbound: Resolver, queries: list[tuple[str, str]], run_dir: Path,
               versions: dict[str, str]) -> int:
    """`ananas shadow` over the cross-check's questions: Ananas is the target, Unbound the reference."""
    questions = run_dir / "shadow-questions.txt"
    questions.write_text("".join(f"{q} {t}\n" for q, t in queries))
    log(f"shadow: {len(queries)} questions, Ananas {versions['ananas']} vs Unbound {versions['unbound']}")
    cmd = [ANANAS, "shadow", "--log", str(questions), "--target", f"{ananas.address}:{ananas.port}",
           "--reference", f"{unbound.address}:{unbound.port}", "--json", str(run_dir / "shadow.json")]
    started = time.monotonic()
    out = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
    text = (f"## shadow — {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n\n"
            f"signed lab of {cfg.zones} zones; `{' '.join(Path(c).name if i == 0 else c for i, c in enumerate(cmd))}` "
            f"({time.monotonic() - started:.0f} s, exit {out.returncode})\n\n```\n{out.stdout}```\n")
    (run_dir / "shadow.md").write_text(text)
    print(text)
    log(f"written {run_dir / 'shadow.md'}")
    return 0 if out.returncode in (0, 3) else 1


if __name__ == "__main__":
    sys.exit(main())
