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
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

# The parts of bench/run; bench/cluster.py, bench/fairness.py and bench/lab/mutations.py use them through this
# module too (bench.stop, bench.exchange, ...), hence names imported here but not used.
from processes import Resolver, _children, _on_signal, check_port_free, log, make_resolver, start, stop, stop_all, wait_ready
from workloads import Workloads, make_workloads, zipf_choices
from measuring import Perf, Result, cpu_seconds, dnsperf, fmt, latency_rate, machine, measure, percentile, report, throughput
from crosscheck import QTYPES, RCODES, TYPE_NAMES, ask, cross_check, encode_query, exchange, parse_answer, rdata_text, read_name

REPO = Path(__file__).resolve().parents[1]
LAB = REPO / "bench" / "lab" / "lab.py"
OUT = REPO / ".build" / "bench"
WORKLOADS = ["cold", "cached", "mixed"]  # run in this order: mixed runs on the cache the earlier ones left
RESOLVERS = ["ananas", "unbound", "kresd", "pdns-recursor", "named"]
ANANAS = str(REPO / "ananas")  # the launcher (builds Release when sources changed); --ananas points elsewhere
APT_PACKAGES = "nsd ldnsutils dnsutils dnsperf unbound knot-resolver pdns-recursor bind9"


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
