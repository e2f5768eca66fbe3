#!/usr/bin/env python3
"""The DNSSEC mutation lab: hundreds of broken or tricky signed zones, judged by two peer validators.

bench/lab/dnssec-mutations [--quick] [--only CLASS,...] [--keep] [--ananas CMD]

Builds a signed hierarchy on loopback (root -> mut. -> c<N>.mut. -> children), one case zone per case (see
mutation_cases.py), signs it with ldns-signzone and breaks it as the case says (mutation_zones.py), serves everything
from four NSD processes (root, mut., case zones, their children) on random 127.x addresses, then asks each case's
questions of Unbound, Knot Resolver (kresd) and Ananas, all anchored at the lab root. For every answer it compares
rcode, AD, the answer RRsets (RRSIGs and TTLs left out) and whether an Extended DNS Error is present. Where the two
peers agree on a field, that is the expected value; Ananas must match it, and must never set AD where a peer did not.
Prints a table by class and writes every difference to .build/mutations/report.txt. Exit status 1 when Ananas
differs from an agreed value or sets AD where a peer did not (cases listed in --known are reported but allowed).
"""
from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
import bench  # noqa: E402  (process control and the DNS message reader)
import lab  # noqa: E402  (NSD configuration)
from mutation_cases import Case, Plan, build_plan  # noqa: E402
from mutation_zones import Zone, make_keys, sign, zone_text  # noqa: E402

REPO = HERE.parents[1]
OUT = REPO / ".build" / "mutations"
RESOLVERS = ["unbound", "kresd", "ananas"]
FIELDS = ["rcode", "ad", "answer", "ede"]


def log(msg: str) -> None:
    print(f"mutations: {msg}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Net:
    prefix: str  # "127.N"

    def server(self, group: str) -> str:
        return f"{self.prefix}.{ {'R': 0, 'T': 1, 'A': 2, 'B': 3}[group] }.1"

    def resolver(self, i: int) -> str:
        return f"{self.prefix}.9.{i + 1}"


# ---------------------------------------------------------------------------------------------------------------
# Building

def build(plan: Plan, cases: list[Case], keys, net: Net, work: Path) -> None:
    started = time.monotonic()
    shutil.rmtree(work, ignore_errors=True)
    zdir = work / "zones"
    zdir.mkdir(parents=True)
    (work / "run").mkdir()
    now = time.time()
    jobs: list[tuple[Zone, str, list[str]]] = []  # zone, address, extra records
    mut_extra: list[str] = []
    groups: dict[str, list[tuple[str, str]]] = {"R": [], "T": [], "A": [], "B": []}

    def delegate(z: Zone, into: list[str]) -> None:
        if z.delegate:
            into += [f"{z.origin}\tIN\tNS\t{z.ns_name}", f"{z.ns_name}\tIN\tA\t{net.server(z.server)}"]
        for ds in z.resolved_ds(keys):
            into.append(f"{z.origin}\tIN\tDS\t{ds}")

    for z in plan.fixtures:
        delegate(z, mut_extra)
        jobs.append((z, net.server("A"), []))
    for c in cases:
        apex, children = c.zones[0], c.zones[1:]
        delegate(apex, mut_extra)
        extra: list[str] = []
        for child in children:
            delegate(child, extra)
            jobs.append((child, net.server("B"), []))
        jobs.append((apex, net.server("A"), extra))
    mut = Zone("mut.", "T", ["nic\tIN\tA\t10.0.0.53"], keys=["13"])
    jobs.append((mut, net.server("T"), mut_extra))
    root = Zone(".", "R", [], keys=["8"])
    root_extra = []
    delegate(mut, root_extra)
    jobs.append((root, net.server("R"), root_extra))

    def one(job: tuple[Zone, str, list[str]]) -> tuple[Zone, str]:
        z, address, extra = job
        fname = "root" if z.origin == "." else z.origin.rstrip(".")
        unsigned = zdir / f"{fname}.zone"
        text = zone_text(z, keys, address, extra)
        unsigned.write_text(text)
        served = zdir / f"{fname}.served"
        served.write_text(sign(z, unsigned, keys, now).replace("@B@", net.server("B")))
        return z, served.name

    workers = max(2, os.cpu_count() or 2)
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        for z, file in pool.map(one, jobs):
            groups["R" if z.origin == "." else "T" if z.origin == "mut." else z.server].append((z.origin, file))
    for g, zones in groups.items():
        (work / f"nsd-{g}.conf").write_text(lab.nsd_conf(work, g, [net.server(g)], zones, 53))
    (work / "root.hints").write_text(f".\t3600000\tNS\ta.root.\na.root.\t3600000\tA\t{net.server('R')}\n")
    (work / "trust-anchor.ds").write_text(f".\t3600\tIN\tDS\t{keys['8'].ds('.', 2)}\n")
    log(f"built {len(jobs)} zones for {len(cases)} cases in {time.monotonic() - started:.1f} s")


# ---------------------------------------------------------------------------------------------------------------
# Serving and resolvers

def free_net() -> Net:
    """A 127.N prefix whose lab and resolver addresses nothing listens on yet (parallel runs never collide)."""
    for _ in range(50):
        net = Net(f"127.{random.randrange(120, 250)}")
        try:
            for address in [net.server(g) for g in "RTAB"] + [net.resolver(i) for i in range(len(RESOLVERS))]:
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                    s.bind((address, 53))
            return net
        except OSError:
            continue
    raise RuntimeError("no free 127.N.x.x addresses for the lab")

def start_nsd(work: Path, net: Net) -> None:
    for g in ("R", "T", "A", "B"):
        r = subprocess.run(["nsd", "-c", str(work / f"nsd-{g}.conf")], capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"nsd ({g}) did not start: {r.stderr.strip()} (log {work / 'run' / f'nsd-{g}.log'})")
    deadline = time.monotonic() + 60
    for g, probe in (("R", "."), ("T", "mut."), ("A", "sec.mut.")):
        while not lab.dig_ok(net.server(g), probe):
            if time.monotonic() > deadline:
                raise RuntimeError(f"nsd ({g}) not answering; log {work / 'run' / f'nsd-{g}.log'}")
            time.sleep(0.2)


def stop_nsd(work: Path) -> None:
    for g in ("R", "T", "A", "B"):
        pid = lab.pid_of(work, g)
        if pid:
            os.kill(pid, 15)
    for g in ("R", "T", "A", "B"):
        for _ in range(50):
            if not lab.pid_of(work, g):
                break
            time.sleep(0.1)


def resolver_command(name: str, address: str, work: Path, lab_dir: Path, ananas: list[str]) -> list[str]:
    d = work / name
    d.mkdir(parents=True, exist_ok=True)
    if name == "unbound":
        (d / "unbound.conf").write_text(f"""server:
    interface: {address}
    port: 53
    num-threads: 1
    do-ip6: no
    access-control: 127.0.0.0/8 allow
    do-not-query-localhost: no
    root-hints: "{lab_dir}/root.hints"
    trust-anchor-file: "{lab_dir}/trust-anchor.ds"
    username: ""
    chroot: ""
    directory: "{d}"
    pidfile: "{d}/unbound.pid"
    use-syslog: no
    logfile: ""
    verbosity: 0
    ede: yes
remote-control:
    control-enable: no
""")
        return ["unbound", "-d", "-c", str(d / "unbound.conf")]
    if name == "kresd":
        (d / "kresd.conf").write_text(f"""net.ipv6 = false
net.listen('{address}', 53, {{ kind = 'dns' }})
cache.open(64 * MB, 'lmdb://{d}/cache')
option('ALLOW_LOCAL', true)
modules.load('hints > iterate')
hints.root_file('{lab_dir}/root.hints')
trust_anchors.remove('.')
trust_anchors.add_file('{lab_dir}/trust-anchor.ds', true)
log_level('warning')
""")
        return ["kresd", "-n", "-c", str(d / "kresd.conf"), str(d)]
    (d / "ananas.toml").write_text(f"""listen = ["udp://{address}:53", "tcp://{address}:53"]
root-hints = "{lab_dir}/root.hints"
[resolver]
query-localhost = true
[dnssec]
validation = "on"
trust-anchor = "{lab_dir}/trust-anchor.ds"
[metrics]
listen = ""
[control]
listen = ""
[log]
level = "warning"
""")
    return ananas + ["serve", "--config", str(d / "ananas.toml")]


# ---------------------------------------------------------------------------------------------------------------
# Asking

def query(qid: int, qname: str, qtype: str) -> bytes:
    wire = b"".join(bytes([len(l)]) + l.encode() for l in qname.rstrip(".").split(".") if l) + b"\0"
    opt = b"\0" + struct.pack("!HHIH", 41, 1232, 0x8000, 0)  # DO
    return struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 1) + wire + struct.pack("!HH", bench.QTYPES[qtype], 1) + opt


def parse(msg: bytes) -> dict:
    flags, qd, an, ns, ar = struct.unpack("!HHHHH", msg[2:12])
    pos = 12
    for _ in range(qd):
        pos = bench.read_name(msg, pos)[1] + 4
    answer, ede = set(), None
    for i in range(an + ns + ar):
        owner, pos = bench.read_name(msg, pos)
        rtype, _cls, _ttl, length = struct.unpack("!HHIH", msg[pos:pos + 10])
        pos += 10
        if i < an and rtype != 46:
            answer.add(f"{owner} {bench.TYPE_NAMES.get(rtype, rtype)} {bench.rdata_text(msg, rtype, pos, length)}")
        elif rtype == 41:
            o = pos
            while o + 4 <= pos + length:
                code, olen = struct.unpack("!HH", msg[o:o + 4])
                if code == 15 and olen >= 2:
                    ede = struct.unpack("!H", msg[o + 4:o + 6])[0]
                o += 4 + olen
        pos += length
    return {"rcode": bench.RCODES.get(flags & 0xF, str(flags & 0xF)), "ad": bool(flags & 0x20),
            "answer": sorted(answer), "ede": ede is not None, "ede_code": ede, "tc": bool(flags & 0x200)}


def ask(address: str, qname: str, qtype: str, timeout: float = 6.0) -> dict:
    msg = bench.exchange(address, 53, query(random.randrange(65536), qname, qtype), timeout)
    if msg is None:
        return {"rcode": "TIMEOUT", "ad": False, "answer": [], "ede": False, "ede_code": None, "tc": False}
    return parse(msg)


def judge(r: dict[str, dict]) -> dict:
    """Per field: the peers' agreed value (or None where they disagree) and whether Ananas matches it."""
    u, k, a = r["unbound"], r["kresd"], r["ananas"]
    out = {"agreed": {}, "differs": [], "peer_split": []}
    for f in FIELDS:
        if u[f] == k[f]:
            out["agreed"][f] = u[f]
            if a[f] != u[f]:
                out["differs"].append(f)
        else:
            out["peer_split"].append(f)
    out["false_ad"] = a["ad"] and not (u["ad"] and k["ad"])
    return out


def run_case(c: Case, addresses: dict[str, str]) -> list[dict]:
    rows = []
    for qname, qtype in c.queries:
        answers = {name: ask(addresses[name], qname, qtype) for name in RESOLVERS}
        for name in RESOLVERS:
            # A loaded machine can hold a cold resolution past the timeout: ask once more before judging.
            if answers[name]["rcode"] == "TIMEOUT":
                answers[name] = ask(addresses[name], qname, qtype, timeout=15.0)
        rows.append({"case": c.id, "cls": c.cls, "variant": c.variant, "qname": qname, "qtype": qtype,
                     "answers": answers, **judge(answers)})
    return rows


def wait_ready(name: str, address: str, proc, deadline: float) -> None:
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited ({proc.returncode}); see its log in {OUT}")
        r = ask(address, "www.sec.mut.", "A", timeout=1.0)
        if r["rcode"] == "NOERROR" and r["ad"]:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{name} does not validate www.sec.mut. (last answer {r}); see its log in {OUT}")
        time.sleep(0.3)


def describe(a: dict) -> str:
    ede = f" EDE {a['ede_code']}" if a["ede"] else ""
    return f"{a['rcode']}{' AD' if a['ad'] else ''}{ede} {'; '.join(a['answer'])[:160]}"


def table(rows: list[dict], known: set[str]) -> tuple[str, int]:
    by: dict[str, dict] = {}
    for r in rows:
        t = by.setdefault(r["cls"], {"cases": set(), "queries": 0, "agreed": 0, "match": 0, "differs": 0,
                                      "split": 0, "false_ad": 0, "known": 0})
        t["cases"].add(r["case"])
        t["queries"] += 1
        whole = not r["peer_split"]
        t["agreed"] += whole
        t["match"] += whole and not r["differs"]
        t["split"] += bool(r["peer_split"])
        bad = bool(r["differs"]) or r["false_ad"]
        t["differs"] += bool(r["differs"])
        t["false_ad"] += r["false_ad"]
        t["known"] += bad and key(r) in known
    lines = [f"{'class':32} {'cases':>5} {'queries':>7} {'peers agree':>11} {'ananas same':>11} {'differs':>7} "
             f"{'peer split':>10} {'false AD':>8}"]
    total = {"cases": 0, "queries": 0, "agreed": 0, "match": 0, "differs": 0, "split": 0, "false_ad": 0, "known": 0}
    for cls in sorted(by):
        t = by[cls]
        lines.append(f"{cls:32} {len(t['cases']):>5} {t['queries']:>7} {t['agreed']:>11} {t['match']:>11} "
                     f"{t['differs']:>7} {t['split']:>10} {t['false_ad']:>8}")
        for f in ("queries", "agreed", "match", "differs", "split", "false_ad", "known"):
            total[f] += t[f]
        total["cases"] += len(t["cases"])
    lines.append(f"{'total (' + str(len(by)) + ' classes)':32} {total['cases']:>5} {total['queries']:>7} "
                 f"{total['agreed']:>11} {total['match']:>11} {total['differs']:>7} {total['split']:>10} "
                 f"{total['false_ad']:>8}")
    bad = sum(1 for r in rows if (r["differs"] or r["false_ad"]) and key(r) not in known)
    return "\n".join(lines), bad


def key(r: dict) -> str:
    return f"{r['cls']}|{r['variant']}|{r['qname'].split('.', 0)[0]}|{r['qtype']}".replace(f"c{r['case']}.mut", "Z")


def report(rows: list[dict]) -> str:
    out = []
    for r in rows:
        if not (r["differs"] or r["false_ad"] or r["peer_split"]):
            continue
        what = ("FALSE-AD " if r["false_ad"] else "") + (f"differs[{','.join(r['differs'])}] " if r["differs"] else "") + \
            (f"peers-split[{','.join(r['peer_split'])}]" if r["peer_split"] else "")
        out.append(f"#{r['case']} {r['cls']} ({r['variant']}) {r['qname']} {r['qtype']}: {what.strip()}")
        for name in RESOLVERS:
            out.append(f"    {name:8} {describe(r['answers'][name])}")
    return "\n".join(out) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(prog="bench/lab/dnssec-mutations", description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="the quick subset (a few variants of every class)")
    ap.add_argument("--only", help="comma-separated classes")
    ap.add_argument("--keep", action="store_true", help="leave NSD and the resolvers running (Ctrl-C ends)")
    ap.add_argument("--ananas", default=str(REPO / "ananas"), help="command that runs the ananas CLI")
    ap.add_argument("--known", default=str(HERE / "dnssec-mutations.known"),
                    help="differences that do not fail the run (one key a line); '' for none")
    ap.add_argument("--out", default=str(OUT), help="work directory")
    ap.add_argument("--list", action="store_true", help="list the classes and case counts, then exit")
    args = ap.parse_args()
    for tool in ("nsd", "ldns-signzone", "ldns-keygen", "unbound", "kresd", "dig"):
        if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists():
            log(f"{tool} is not installed (scripts/setup.sh installs nsd ldnsutils unbound knot-resolver dnsutils)")
            return 2
    signal.signal(signal.SIGTERM, bench._on_signal)  # so the servers are stopped (finally below) on SIGTERM too
    work = Path(args.out).resolve()
    keys = make_keys(work.parent / "mutation-keys")
    plan = build_plan(keys)
    cases = [c for c in plan.cases if (c.quick or not args.quick) and
             (not args.only or c.cls in args.only.split(","))]
    if args.list:
        counts: dict[str, int] = {}
        for c in cases:
            counts[c.cls] = counts.get(c.cls, 0) + 1
        for cls, n in sorted(counts.items()):
            print(f"{cls:32} {n}")
        print(f"{len(counts)} classes, {len(cases)} cases, {sum(len(c.queries) for c in cases)} queries")
        return 0
    known = set()
    if args.known and Path(args.known).exists():
        known = {l.strip() for l in Path(args.known).read_text().splitlines() if l.strip() and not l.startswith("#")}
    net = free_net()
    started = time.monotonic()
    build(plan, cases, keys, net, work)
    procs = []
    try:
        start_nsd(work, net)
        addresses = {name: net.resolver(i) for i, name in enumerate(RESOLVERS)}
        ananas = args.ananas.split()
        for name in RESOLVERS:
            cmd = resolver_command(name, addresses[name], work, work, ananas)
            procs.append((name, bench.start(cmd, work / f"{name}.log")))
        deadline = time.monotonic() + 180
        for name, p in procs:
            wait_ready(name, addresses[name], p, deadline)
        log(f"asking {sum(len(c.queries) for c in cases)} questions of {len(cases)} cases "
            f"({len({c.cls for c in cases})} classes) of {', '.join(RESOLVERS)}")
        rows: list[dict] = []
        with concurrent.futures.ThreadPoolExecutor(12) as pool:
            for result in pool.map(lambda c: run_case(c, addresses), cases):
                rows += result
        text, bad = table(rows, known)
        print(text)
        (work / "report.txt").write_text(report(rows))
        (work / "results.json").write_text(json.dumps(rows, indent=1) + "\n")
        print(f"{len(cases)} cases, {len(rows)} queries in {time.monotonic() - started:.0f} s; "
              f"differences: {work / 'report.txt'}; unexpected: {bad}")
        if args.keep:
            log("servers left running; Ctrl-C to stop")
            while True:
                time.sleep(3600)
        return 1 if bad else 0
    finally:
        bench.stop_all()
        stop_nsd(work)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
    except RuntimeError as e:
        log(f"error: {e}")
        sys.exit(1)
