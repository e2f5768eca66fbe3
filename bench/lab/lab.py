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
import base64
import concurrent.futures
import hashlib
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LAB_ROOT = REPO / ".build" / "lab"
ACTIVE = LAB_ROOT / "active"  # one running lab directory per line, so `down` finds them
FORMAT_VERSION = 4  # bump when the generated lab changes, so cached builds are rebuilt

TLDS = ["com", "net", "org", "lab"]
UNSIGNED_TLD = "org"  # an insecure delegation from the root: org has no DS, its zones are insecure
ALGORITHMS = [8, 13, 15]
ROOT_ALGORITHM = 8  # like the real root
ALG_NAMES = {8: "RSASHA256", 13: "ECDSAP256SHA256", 15: "ED25519"}
PROVIDERS = 10  # dnsprovK.net zones that host the name servers of out-of-bailiwick delegations
DEFAULT_TTL = 3600
NEGATIVE_TTL = 300


def log(msg: str) -> None:
    print(f"lab: {msg}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Addresses:
    """Loopback addresses of the server groups: root, TLDs, and two groups for second-level zones."""

    net: str  # first two octets, e.g. "127.77"

    def group(self, g: int) -> list[str]:
        return [f"{self.net}.{g}.1", f"{self.net}.{g}.2"]

    @property
    def root(self) -> list[str]:
        return self.group(0)

    @property
    def tld(self) -> list[str]:
        return self.group(1)

    @property
    def sld_a(self) -> list[str]:
        return self.group(2)

    @property
    def sld_b(self) -> list[str]:
        return self.group(3)


@dataclass(frozen=True)
class Sld:
    index: int
    tld: str
    signed: bool
    algorithm: int
    nsec3: bool
    wildcard: bool
    provider: int | None  # out-of-bailiwick name servers at dnsprov<provider>.net, else ns1/ns2 in the zone

    @property
    def name(self) -> str:
        return f"z{self.index}.{self.tld}"


def plan_slds(count: int, signed: bool) -> list[Sld]:
    slds = []
    for i in range(count):
        tld = TLDS[i % len(TLDS)]
        # Every 20th zone under a signed TLD is left unsigned (an insecure delegation: no DS in the parent).
        zone_signed = signed and tld != UNSIGNED_TLD and i % 20 != 7
        slds.append(Sld(
            index=i,
            tld=tld,
            signed=zone_signed,
            algorithm=ALGORITHMS[(i // len(TLDS)) % len(ALGORITHMS)],
            nsec3=(i // 3) % 2 == 1,
            wildcard=i % 2 == 0,
            provider=(i // 5) % PROVIDERS if i % 5 == 3 else None,
        ))
    return slds


# ---------------------------------------------------------------------------------------------------------------
# DNSSEC helpers: keys are made once per algorithm and shared by every zone of that algorithm (the signer name and
# the DS follow the zone, so sharing is invisible to a validator and keeps key generation out of the loop).

def name_to_wire(name: str) -> bytes:
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.lower().encode()
    return out + b"\x00"


@dataclass(frozen=True)
class Key:
    algorithm: int
    base: Path  # K<owner>+<alg>+<tag> without extension
    flags: int
    public_b64: str

    def rdata(self) -> bytes:
        return struct.pack("!HBB", self.flags, 3, self.algorithm) + base64.b64decode(self.public_b64)

    def tag(self) -> int:
        data = self.rdata()
        acc = 0
        for i, b in enumerate(data):
            acc += b if i & 1 else b << 8
        acc += (acc >> 16) & 0xFFFF
        return acc & 0xFFFF

    def dnskey(self, owner: str) -> str:
        return f"{owner}\t{DEFAULT_TTL}\tIN\tDNSKEY\t{self.flags} 3 {self.algorithm} {self.public_b64}"

    def ds(self, owner: str) -> str:
        digest = hashlib.sha256(name_to_wire(owner) + self.rdata()).hexdigest().upper()
        return f"{owner}\t{DEFAULT_TTL}\tIN\tDS\t{self.tag()} {self.algorithm} 2 {digest}"


def make_keys(directory: Path) -> dict[int, Key]:
    directory.mkdir(parents=True, exist_ok=True)
    keys = {}
    for alg in ALGORITHMS:
        existing = sorted(directory.glob(f"Klab.+{alg:03d}+*.key"))
        if not existing:
            args = ["ldns-keygen", "-k", "-a", ALG_NAMES[alg]] + (["-b", "2048"] if alg == 8 else []) + ["lab."]
            subprocess.run(args, cwd=directory, check=True, capture_output=True, text=True)
            existing = sorted(directory.glob(f"Klab.+{alg:03d}+*.key"))
        key_file = existing[0]
        fields = key_file.read_text().split(";")[0].split()
        # owner IN DNSKEY flags proto alg key...
        i = fields.index("DNSKEY")
        keys[alg] = Key(alg, key_file.with_suffix(""), int(fields[i + 1]), "".join(fields[i + 4:]))
    return keys


# ---------------------------------------------------------------------------------------------------------------
# Zone contents

def soa(origin: str, ns: str, ttl: int = DEFAULT_TTL) -> list[str]:
    return [
        f"$ORIGIN {origin}",
        f"$TTL {ttl}",
        f"@\tIN\tSOA\t{ns} hostmaster.{origin} 1 7200 3600 1209600 {min(NEGATIVE_TTL, ttl)}",
    ]


def sld_ttl(n: int, ttls: tuple[int, int] | None) -> int:
    """A second-level zone's TTL: the lab's default, or spread over the --ttls range by a fixed hash of its index
    (so names expire at different times and are fetched again, as in bench/cluster)."""
    if ttls is None:
        return DEFAULT_TTL
    lo, hi = ttls
    return lo + (n * 2654435761) % (hi - lo + 1)


def sld_ns(s: Sld) -> list[str]:
    if s.provider is None:
        return [f"ns1.{s.name}.", f"ns2.{s.name}."]
    return [f"ns1.dnsprov{s.provider}.net.", f"ns2.dnsprov{s.provider}.net."]


def sld_ns_addresses(s: Sld, a: Addresses) -> tuple[str, str]:
    # ns1 in group A, ns2 in group B: every zone has two servers, run by two separate NSD processes.
    return a.sld_a[s.index % 2], a.sld_b[s.index % 2]


def sld_zone(s: Sld, a: Addresses, count: int, ttls: tuple[int, int] | None = None) -> tuple[str, list[tuple[str, str, str]]]:
    """The zone text and the names a client can ask for in it, as (qname, qtype, expected rcode)."""
    n = s.index
    lines = soa(f"{s.name}.", sld_ns(s)[0], sld_ttl(n, ttls))
    for ns in sld_ns(s):
        lines.append(f"@\tIN\tNS\t{ns}")
    if s.provider is None:
        ns1, ns2 = sld_ns_addresses(s, a)
        lines += [f"ns1\tIN\tA\t{ns1}", f"ns2\tIN\tA\t{ns2}"]
    v4 = f"10.{(n >> 8) & 255}.{n & 255}"
    lines += [
        f"@\tIN\tA\t{v4}.1",
        f"@\tIN\tAAAA\t2001:db8:{n >> 16:x}:{n & 0xFFFF:x}::1",
        f"@\tIN\tMX\t10 mail",
        f"@\tIN\tMX\t20 mail2",
        f'@\tIN\tTXT\t"v=spf1 mx -all"',
        f"www\tIN\tA\t{v4}.80",
        f"www\tIN\tA\t{v4}.81",
        f"www\tIN\tAAAA\t2001:db8:{n >> 16:x}:{n & 0xFFFF:x}::80",
        f"mail\tIN\tA\t{v4}.25",
        f"mail2\tIN\tA\t{v4}.26",
        f"alias\tIN\tCNAME\twww",
        f'info\tIN\tTXT\t"zone {n}" "lab"',
    ]
    names = [
        (f"{s.name}", "A", "NOERROR"), (f"{s.name}", "AAAA", "NOERROR"), (f"{s.name}", "MX", "NOERROR"),
        (f"{s.name}", "TXT", "NOERROR"), (f"www.{s.name}", "A", "NOERROR"), (f"www.{s.name}", "AAAA", "NOERROR"),
        (f"mail.{s.name}", "A", "NOERROR"), (f"alias.{s.name}", "A", "NOERROR"), (f"info.{s.name}", "TXT", "NOERROR"),
        (f"www.{s.name}", "MX", "NOERROR"),  # NODATA
    ]
    if n % 4 == 1 and count > 1:
        # A CNAME into another zone (often another TLD, often signed differently).
        j = (n * 7 + 3) % count
        lines.append(f"cdn\tIN\tCNAME\twww.z{j}.{TLDS[j % len(TLDS)]}.")
        names.append((f"cdn.{s.name}", "A", "NOERROR"))
    if s.wildcard:
        lines += [f"*\tIN\tA\t{v4}.99", f'*\tIN\tTXT\t"wildcard"']
        names += [(f"any.{s.name}", "A", "NOERROR"), (f"x.y.{s.name}", "TXT", "NOERROR")]
    else:
        names.append((f"nx.{s.name}", "A", "NXDOMAIN"))
    return "\n".join(lines) + "\n", names


def provider_zone(k: int, a: Addresses) -> str:
    name = f"dnsprov{k}.net."
    lines = soa(name, f"ns1.{name}") + [f"@\tIN\tNS\tns1", f"@\tIN\tNS\tns2",
                                         f"ns1\tIN\tA\t{a.sld_a[k % 2]}", f"ns2\tIN\tA\t{a.sld_b[k % 2]}"]
    return "\n".join(lines) + "\n"


def tld_zone(tld: str, slds: list[Sld], a: Addresses, keys: dict[int, Key], signed: bool) -> str:
    origin = f"{tld}."
    lines = soa(origin, f"ns1.nic.{origin}") + [f"@\tIN\tNS\tns1.nic", f"@\tIN\tNS\tns2.nic",
                                                   f"ns1.nic\tIN\tA\t{a.tld[0]}", f"ns2.nic\tIN\tA\t{a.tld[1]}",
                                                   f"nic\tIN\tA\t10.255.0.1", f"www.nic\tIN\tA\t10.255.0.1"]
    if tld == "net":
        for k in range(PROVIDERS):
            lines += [f"dnsprov{k}\tIN\tNS\tns1.dnsprov{k}", f"dnsprov{k}\tIN\tNS\tns2.dnsprov{k}",
                      f"ns1.dnsprov{k}\tIN\tA\t{a.sld_a[k % 2]}", f"ns2.dnsprov{k}\tIN\tA\t{a.sld_b[k % 2]}"]
    for s in slds:
        if s.tld != tld:
            continue
        label = f"z{s.index}"
        for ns in sld_ns(s):
            lines.append(f"{label}\tIN\tNS\t{ns}")
        if s.provider is None:
            ns1, ns2 = sld_ns_addresses(s, a)
            lines += [f"ns1.{label}\tIN\tA\t{ns1}", f"ns2.{label}\tIN\tA\t{ns2}"]
        if signed and s.signed:
            lines.append(keys[s.algorithm].ds(f"{s.name}."))
    return "\n".join(lines) + "\n"


def root_zone(a: Addresses, keys: dict[int, Key], signed: bool) -> str:
    lines = [f"$TTL 86400",
             f".\tIN\tSOA\ta.root. hostmaster.root. 1 1800 900 604800 86400",
             f".\tIN\tNS\ta.root.", f".\tIN\tNS\tb.root.",
             f"a.root.\tIN\tA\t{a.root[0]}", f"b.root.\tIN\tA\t{a.root[1]}"]
    for i, tld in enumerate(TLDS):
        lines += [f"{tld}.\tIN\tNS\tns1.nic.{tld}.", f"{tld}.\tIN\tNS\tns2.nic.{tld}.",
                  f"ns1.nic.{tld}.\tIN\tA\t{a.tld[0]}", f"ns2.nic.{tld}.\tIN\tA\t{a.tld[1]}"]
        if signed and tld != UNSIGNED_TLD:
            lines.append(keys[tld_algorithm(i)].ds(f"{tld}."))
    return "\n".join(lines) + "\n"


def tld_algorithm(i: int) -> int:
    return ALGORITHMS[(i + 1) % len(ALGORITHMS)]



# ---------------------------------------------------------------------------------------------------------------
# Building

def sign(zone_file: Path, origin: str, key: Key, nsec3: bool, expiry: str, inception: str) -> None:
    """Signs zone_file (which already holds its DNSKEY) into zone_file.signed."""
    args = ["ldns-signzone", "-o", origin, "-e", expiry, "-i", inception]
    if nsec3:
        args += ["-n", "-t", "0"]  # RFC 9276: no extra iterations, no salt
    args += ["-f", f"{zone_file}.signed", str(zone_file), str(key.base)]
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"ldns-signzone {zone_file.name}: {r.stderr.strip()}")


def nsd_conf(lab: Path, group: str, addresses: list[str], zones: list[tuple[str, str]], port: int) -> str:
    run = lab / "run"
    lines = ["server:"] + [f"    ip-address: {ip}" for ip in addresses] + [
        f"    port: {port}",
        '    username: ""',
        '    chroot: ""',
        f'    zonesdir: "{lab / "zones"}"',
        f'    pidfile: "{run / f"nsd-{group}.pid"}"',
        '    database: ""',
        f'    zonelistfile: "{run / f"nsd-{group}.zonelist"}"',
        f'    xfrdfile: "{run / f"nsd-{group}.xfrd"}"',
        f'    xfrdir: "{run}"',
        f'    logfile: "{run / f"nsd-{group}.log"}"',
        "    server-count: 1",
        "    verbosity: 1",
        "    hide-version: yes",
        "    refuse-any: yes",
        # NSD's response rate limiting (200 q/s per client /24 by default) would throttle every resolver's cold
        # queries, which all come from one loopback address, and turn some into SERVFAILs: off in the lab.
        "    rrl-ratelimit: 0",
        "    rrl-whitelist-ratelimit: 0",
        "remote-control:",
        "    control-enable: no",
    ]
    for name, file in zones:
        lines += ["zone:", f'    name: "{name}"', f'    zonefile: "{file}"']
    return "\n".join(lines) + "\n"


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


# ---------------------------------------------------------------------------------------------------------------
# Running

GROUPS = ["root", "tld", "sld-a", "sld-b"]


def pid_of(lab: Path, group: str) -> int | None:
    try:
        pid = int((lab / "run" / f"nsd-{group}.pid").read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except OSError:
        return None
    # A stale pid file may name a recycled pid: only count it if it is NSD with our config.
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return None
    return pid if "nsd" in cmdline and str(lab) in cmdline else None


def dig_ok(address: str, qname: str) -> bool:
    r = subprocess.run(["dig", "+norec", "+tries=1", "+time=1", f"@{address}", qname, "SOA"],
                       capture_output=True, text=True)
    return "status: NOERROR" in r.stdout and "flags: qr aa" in r.stdout


def up(lab: Path, cpu: str | None) -> None:
    nsd = shutil.which("nsd") or "/usr/sbin/nsd"
    params = json.loads((lab / "lab.json").read_text())
    (lab / "run").mkdir(exist_ok=True)
    checks = {"root": ".", "tld": "com.", "sld-a": "z0.com.", "sld-b": "z0.com."}
    # Another lab on the same addresses (say the full-size one left up before a --quick run) would keep NSD from
    # binding: stop it first, saying so.
    for other in (Path(x) for x in (ACTIVE.read_text().split() if ACTIVE.exists() else [])):
        if other == lab or not any(pid_of(other, g) for g in GROUPS):
            continue
        try:
            other_net = json.loads((other / "lab.json").read_text()).get("net")
        except (OSError, ValueError):
            other_net = None
        if other_net in (None, params.get("net")):
            log(f"stopping the lab in {other}: it serves the same addresses ({params.get('net')}.x)")
            down(other)
    started = []
    for g in GROUPS:
        if pid_of(lab, g):
            continue
        args = ([ "taskset", "-c", cpu] if cpu else []) + [nsd, "-c", str(lab / f"nsd-{g}.conf")]
        r = subprocess.run(args, capture_output=True, text=True)
        if r.returncode != 0:
            down(lab)
            raise RuntimeError(f"nsd ({g}) did not start: {r.stderr.strip()} (log: {lab / 'run' / f'nsd-{g}.log'})")
        started.append(g)
    LAB_ROOT.mkdir(parents=True, exist_ok=True)
    active = set(ACTIVE.read_text().split()) if ACTIVE.exists() else set()
    active.add(str(lab))
    ACTIVE.write_text("\n".join(sorted(active)) + "\n")
    # Loading thousands of zones takes NSD a while: wait until each server answers authoritatively.
    deadline = time.monotonic() + 300
    last = 0.0
    for g in GROUPS:
        for addr in params["addresses"][g]:
            while not dig_ok(addr, checks[g]):
                if pid_of(lab, g) is None:
                    down(lab)
                    raise RuntimeError(f"nsd ({g}) exited; see {lab / 'run' / f'nsd-{g}.log'}")
                if time.monotonic() > deadline:
                    down(lab)
                    raise RuntimeError(f"nsd ({g}) on {addr} not answering after 300 s")
                if time.monotonic() - last > 5:
                    log(f"  waiting for nsd ({g}) on {addr} to load its zones")
                    last = time.monotonic()
                time.sleep(0.3)
    log(f"up: {len(GROUPS)} NSD servers ({', '.join(started) or 'already running'}) on "
        f"{', '.join(a for g in GROUPS for a in params['addresses'][g])}")


def down(lab: Path) -> None:
    for g in GROUPS:
        pid = pid_of(lab, g)
        if pid is None:
            continue
        os.kill(pid, signal.SIGTERM)
        for _ in range(100):
            if pid_of(lab, g) is None:
                break
            time.sleep(0.1)
        else:
            os.kill(pid, signal.SIGKILL)
    # NSD's children (the xfrd and server processes) follow their parent; make sure none is left.
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if cmd.startswith(("nsd ", "/usr/sbin/nsd ")) and f"{lab}/nsd-" in cmd:
            try:
                os.kill(int(proc.name), signal.SIGKILL)
            except OSError:
                pass
    if ACTIVE.exists():
        rest = [d for d in ACTIVE.read_text().split() if d != str(lab)]
        ACTIVE.write_text("".join(d + "\n" for d in rest))


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
