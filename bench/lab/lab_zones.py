"""The lab's zones: the plan of second-level zones, their keys (one per algorithm, shared), the contents of every
zone from the root down, and their signing (ldns-signzone)."""
from __future__ import annotations

import base64
import hashlib
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path


TLDS = ["com", "net", "org", "lab"]
UNSIGNED_TLD = "org"  # an insecure delegation from the root: org has no DS, its zones are insecure
ALGORITHMS = [8, 13, 15]
ROOT_ALGORITHM = 8  # like the real root
ALG_NAMES = {8: "RSASHA256", 13: "ECDSAP256SHA256", 15: "ED25519"}
PROVIDERS = 10  # dnsprovK.net zones that host the name servers of out-of-bailiwick delegations
DEFAULT_TTL = 3600
NEGATIVE_TTL = 300


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
