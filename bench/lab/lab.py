#!/usr/bin/env python3
"""The benchmark lab: a small internet of its own on loopback.

A root, a few TLDs and N second-level zones served by NSD on several 127.x addresses, optionally DNSSEC-signed.
`up` builds the lab (or reuses a cached build with the same parameters) and starts the servers; `down` stops them.
Python standard library only; signing uses ldns-signzone and ldns-keygen (Debian ldnsutils).

Layout of a lab directory (default .build/lab/<parameters>):
  zones/          zone files (signed ones end in .signed)
  nsd-*.conf      one NSD configuration per server group
  root.hints      named.root-style hints for the resolvers (no port: the servers listen on 53)
  trust-anchor.ds / trust-anchor.dnskey   the lab root's DS and DNSKEY (signed labs)
  names.tsv       every name a client can ask for: qname, qtype, zone index, expected rcode
  zones.tsv       every second-level zone: index, name, signed?, algorithm, denial, wildcard?
  run/            pid files and logs of the running servers
"""
from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from lab_zones import ALGORITHMS, Addresses, Key, PROVIDERS, ROOT_ALGORITHM, TLDS, UNSIGNED_TLD, make_keys, plan_slds, provider_zone, root_zone, sign, sld_zone, tld_algorithm, tld_zone
from lab_servers import ACTIVE, GROUPS, LAB_ROOT, dig_ok, down, log, nsd_conf, pid_of, up  # dig_ok: for mutations.py

FORMAT_VERSION = 4  # bump when the generated lab changes, so cached builds are rebuilt


def build(lab: Path, count: int, signed: bool, a: Addresses, jobs: int, ttls: tuple[int, int] | None = None) -> None:
    started = time.monotonic()
    tmp = lab.with_name(lab.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    zones_dir = tmp / "zones"
    zones_dir.mkdir(parents=True)
    (tmp / "run").mkdir()
    keys = make_keys(LAB_ROOT / "keys") if signed else {}
    slds = plan_slds(count, signed)
    expiry = time.strftime("%Y%m%d%H%M%S", time.gmtime(time.time() + 120 * 86400))
    inception = time.strftime("%Y%m%d%H%M%S", time.gmtime(time.time() - 86400))

    log(f"writing {count} second-level zones, {len(TLDS)} TLDs and the root into {lab}")
    to_sign: list[tuple[Path, str, Key, bool]] = []
    names_out = []
    sld_files = []
    for s in slds:
        text, names = sld_zone(s, a, count, ttls)
        if s.signed:
            text += keys[s.algorithm].dnskey(f"{s.name}.") + "\n"
            to_sign.append((zones_dir / f"{s.name}.zone", f"{s.name}.", keys[s.algorithm], s.nsec3))
        (zones_dir / f"{s.name}.zone").write_text(text)
        sld_files.append((f"{s.name}.", f"{s.name}.zone{'.signed' if s.signed else ''}"))
        names_out += [(q, t, s.index, rc) for q, t, rc in names]
    for k in range(PROVIDERS):
        (zones_dir / f"dnsprov{k}.net.zone").write_text(provider_zone(k, a))
        sld_files.append((f"dnsprov{k}.net.", f"dnsprov{k}.net.zone"))
    tld_files = []
    for i, tld in enumerate(TLDS):
        text = tld_zone(tld, slds, a, keys, signed)
        tld_signed = signed and tld != UNSIGNED_TLD
        if tld_signed:
            key = keys[tld_algorithm(i)]
            text += key.dnskey(f"{tld}.") + "\n"
            to_sign.append((zones_dir / f"{tld}.zone", f"{tld}.", key, i % 2 == 0))
        (zones_dir / f"{tld}.zone").write_text(text)
        tld_files.append((f"{tld}.", f"{tld}.zone{'.signed' if tld_signed else ''}"))
    text = root_zone(a, keys, signed)
    if signed:
        root_key = keys[ROOT_ALGORITHM]
        text += root_key.dnskey(".") + "\n"
        to_sign.append((zones_dir / "root.zone", ".", root_key, False))
        (tmp / "trust-anchor.ds").write_text(root_key.ds(".") + "\n")
        (tmp / "trust-anchor.dnskey").write_text(root_key.dnskey(".") + "\n")
    (zones_dir / "root.zone").write_text(text)

    if to_sign:
        log(f"signing {len(to_sign)} zones with {jobs} jobs (algorithms {ALGORITHMS}, NSEC and NSEC3)")
        done = 0
        last = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
            futures = [pool.submit(sign, f, o, k, n, expiry, inception) for f, o, k, n in to_sign]
            for fut in concurrent.futures.as_completed(futures):
                fut.result()
                done += 1
                if time.monotonic() - last > 5 or done == len(futures):
                    log(f"  signed {done}/{len(futures)}")
                    last = time.monotonic()

    root_file = "root.zone" + (".signed" if signed else "")
    (tmp / "nsd-root.conf").write_text(nsd_conf(lab, "root", a.root, [(".", root_file)], 53))
    (tmp / "nsd-tld.conf").write_text(nsd_conf(lab, "tld", a.tld, tld_files, 53))
    (tmp / "nsd-sld-a.conf").write_text(nsd_conf(lab, "sld-a", a.sld_a, sld_files, 53))
    (tmp / "nsd-sld-b.conf").write_text(nsd_conf(lab, "sld-b", a.sld_b, sld_files, 53))
    (tmp / "root.hints").write_text(
        f".\t3600000\tNS\ta.root.\na.root.\t3600000\tA\t{a.root[0]}\n"
        f".\t3600000\tNS\tb.root.\nb.root.\t3600000\tA\t{a.root[1]}\n")
    with open(tmp / "names.tsv", "w") as f:
        for q, t, idx, rc in names_out:
            f.write(f"{q}\t{t}\t{idx}\t{rc}\n")
    with open(tmp / "zones.tsv", "w") as f:
        for s in slds:
            f.write(f"{s.index}\t{s.name}\t{int(s.signed)}\t{s.algorithm if s.signed else 0}\t"
                    f"{('nsec3' if s.nsec3 else 'nsec') if s.signed else '-'}\t{int(s.wildcard)}\n")
    params = {"zones": count, "signed": signed, "net": a.net, "format": FORMAT_VERSION, "ttls": list(ttls) if ttls else None,
              "built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "expires": expiry,
              "addresses": {"root": a.root, "tld": a.tld, "sld-a": a.sld_a, "sld-b": a.sld_b}}
    (tmp / "lab.json").write_text(json.dumps(params, indent=2) + "\n")
    shutil.rmtree(lab, ignore_errors=True)
    tmp.rename(lab)
    log(f"built in {time.monotonic() - started:.1f} s")


def is_fresh(lab: Path) -> bool:
    try:
        params = json.loads((lab / "lab.json").read_text())
    except (OSError, ValueError):
        return False
    # Rebuild well before the signatures expire.
    return params.get("format") == FORMAT_VERSION and params["expires"] > time.strftime(
        "%Y%m%d%H%M%S", time.gmtime(time.time() + 30 * 86400))


def lab_dir(args) -> Path:
    if args.dir:
        return Path(args.dir).resolve()
    ttls = f"-ttl{args.ttls}" if args.ttls else ""
    return LAB_ROOT / f"z{args.zones}-{'signed' if args.signed else 'unsigned'}-{args.net}{ttls}-v{FORMAT_VERSION}"


def main() -> int:
    p = argparse.ArgumentParser(prog="bench/lab/up", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    for name in ("up", "build", "path"):
        s = sub.add_parser(name)
        s.add_argument("--zones", type=int, default=10000, help="second-level zones (default 10000)")
        s.add_argument("--signed", action="store_true", help="DNSSEC-sign the lab")
        s.add_argument("--dir", help="lab directory (default .build/lab/<parameters>)")
        s.add_argument("--net", default="127.77", help="first two octets of the servers' loopback addresses")
        s.add_argument("--rebuild", action="store_true", help="ignore a cached build")
        s.add_argument("--cpu", help="pin the NSD servers to these CPUs (taskset list)")
        s.add_argument("--jobs", type=int, default=os.cpu_count() or 2, help="parallel signers")
        s.add_argument("--ttls", help="LO-HI: spread the second-level zones' TTLs over this range in seconds (default: all 3600)")
    d = sub.add_parser("down")
    d.add_argument("--dir", help="the lab to stop (default: every running lab)")
    args = p.parse_args()

    if args.command == "down":
        labs = [Path(args.dir).resolve()] if args.dir else \
            [Path(x) for x in (ACTIVE.read_text().split() if ACTIVE.exists() else [])]
        for lab in labs:
            down(lab)
            log(f"down: {lab}")
        return 0
    if args.zones < 1:
        p.error("--zones must be at least 1")
    lab = lab_dir(args)
    if args.command == "path":
        print(lab)
        return 0
    if args.rebuild or not is_fresh(lab):
        if any(pid_of(lab, g) for g in GROUPS):
            down(lab)
        ttls = None
        if args.ttls:
            lo, _, hi = args.ttls.partition("-")
            if not (lo.isdigit() and hi.isdigit() and 0 < int(lo) <= int(hi)):
                p.error("--ttls takes LO-HI in seconds, e.g. 30-300")
            ttls = (int(lo), int(hi))
        build(lab, args.zones, args.signed, Addresses(args.net), args.jobs, ttls)
    else:
        log(f"reusing the lab built in {lab}")
    if args.command == "up":
        up(lab, args.cpu)
    print(lab)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (RuntimeError, subprocess.CalledProcessError) as e:
        log(f"error: {e}")
        sys.exit(1)
