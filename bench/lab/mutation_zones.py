"""Zone text, signing and post-signing mutations for the DNSSEC mutation lab (bench/lab/dnssec-mutations).

A zone is written as text, signed by ldns-signzone (Debian ldnsutils) with keys from ldns-keygen, then mutated as
parsed records: a mutation edits, drops or adds records of the signed zone, so what NSD serves is exactly the broken
zone a case describes. Python standard library only.
"""
from __future__ import annotations

import base64
import hashlib
import os
import re
import shutil
import struct
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

TTL = 3600
NEG_TTL = 300
# Key store entries: name -> (ldns-keygen algorithm, bits or None). Several zones share a key; a validator cannot
# tell (the DS and the signer name follow the zone).
KEY_SPECS = {
    "8": ("RSASHA256", 1024), "8b": ("RSASHA256", 1024), "13": ("ECDSAP256SHA256", None),
    "13b": ("ECDSAP256SHA256", None), "13r": ("ECDSAP256SHA256", None), "14": ("ECDSAP384SHA384", None),
    "15": ("ED25519", None), "16": ("ED448", None),
}


def name_wire(name: str) -> bytes:
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.lower().encode()
    return out + b"\x00"


def key_tag(rdata: bytes) -> int:
    acc = 0
    for i, b in enumerate(rdata):
        acc += b if i & 1 else b << 8
    acc += (acc >> 16) & 0xFFFF
    return acc & 0xFFFF


@dataclass(frozen=True)
class Key:
    name: str
    algorithm: int
    base: Path  # K<owner>+<alg>+<tag> without extension
    public_b64: str
    flags: int = 257

    def rdata(self, flags: int | None = None) -> bytes:
        return struct.pack("!HBB", self.flags if flags is None else flags, 3, self.algorithm) + \
            base64.b64decode(self.public_b64)

    def tag(self, flags: int | None = None) -> int:
        return key_tag(self.rdata(flags))

    def dnskey(self, flags: int | None = None) -> str:
        return f"@\t{TTL}\tIN\tDNSKEY\t{self.flags if flags is None else flags} 3 {self.algorithm} {self.public_b64}"

    def ds(self, owner: str, digest_type: int = 2, flags: int | None = None) -> str:
        data = name_wire(owner) + self.rdata(flags)
        h = {1: hashlib.sha1, 2: hashlib.sha256, 4: hashlib.sha384}[digest_type](data).hexdigest().upper()
        return f"{self.tag(flags)} {self.algorithm} {digest_type} {h}"


def make_keys(directory: Path) -> dict[str, Key]:
    keys = {}
    for name, (alg_name, bits) in KEY_SPECS.items():
        d = directory / name
        d.mkdir(parents=True, exist_ok=True)
        existing = sorted(d.glob("K*.key"))
        if not existing:
            args = ["ldns-keygen", "-k", "-a", alg_name] + (["-b", str(bits)] if bits else []) + ["lab."]
            subprocess.run(args, cwd=d, check=True, capture_output=True, text=True)
            existing = sorted(d.glob("K*.key"))
        text = existing[0].read_text()
        if name.endswith("r"):
            # A revoked key (RFC 5011 §2.1): the REVOKE bit is part of the key, so ldns-signzone signs with its tag.
            text = re.sub(r"DNSKEY(\s+)257 ", r"DNSKEY\g<1>385 ", text)
            existing[0].write_text(text)
        fields = text.split(";")[0].split()
        i = fields.index("DNSKEY")
        keys[name] = Key(name, int(fields[i + 3]), existing[0].with_suffix(""), "".join(fields[i + 4:]),
                         int(fields[i + 1]))
    return keys


# ---------------------------------------------------------------------------------------------------------------
# Names and denial helpers

def canonical_key(name: str) -> tuple:
    return tuple(l.lower().encode() for l in reversed(name.rstrip(".").split("."))) if name != "." else ()


def nsec3_hash(name: str, iterations: int, salt: str) -> str:
    salt_b = b"" if salt in ("", "-") else bytes.fromhex(salt)
    h = hashlib.sha1(name_wire(name) + salt_b).digest()
    for _ in range(iterations):
        h = hashlib.sha1(h + salt_b).digest()
    return base64.b32hexencode(h).decode().lower()


@dataclass
class RR:
    owner: str
    ttl: int
    type: str
    rdata: str

    def line(self) -> str:
        return f"{self.owner}\t{self.ttl}\tIN\t{self.type}\t{self.rdata}"

    def sig_fields(self) -> list[str]:
        return self.rdata.split()

    @property
    def covered(self) -> str:
        return self.rdata.split()[0] if self.type == "RRSIG" else ""


def parse_signed(text: str) -> list[RR]:
    out = []
    for line in text.splitlines():
        if not line.strip() or line.startswith(";"):
            continue
        owner, ttl, _cls, rtype, rdata = line.split("\t", 4)
        if rtype == "DNSKEY":
            rdata = rdata.split(";")[0]
        out.append(RR(owner.lower(), int(ttl), rtype, rdata.strip()))
    return out


Mutation = Callable[[list[RR], "Zone"], list[RR]]


@dataclass
class Zone:
    """One zone of a case: its records (relative to origin), how it is signed, how it is broken afterwards."""

    origin: str
    server: str  # "A" (case zones under mut.) or "B" (their children)
    records: list[str]
    keys: list[str] = field(default_factory=lambda: ["13"])  # key-store names; [] = unsigned
    nsec3: tuple[int, str, bool] | None = None  # (iterations, salt, opt-out)
    valid_days: tuple[float, float] = (-1, 60)  # inception, expiry relative to now
    ds: list[str] | None = None  # the DS rdata the parent publishes; None = from the keys (digest 2)
    dnskey_flags: dict[str, int] = field(default_factory=dict)  # key name -> flags published (257 default)
    mutations: list[Mutation] = field(default_factory=list)
    delegate: bool = True  # the parent publishes NS and glue for it

    @property
    def ns_name(self) -> str:
        return "a.root." if self.origin == "." else f"ns.{self.origin}"

    def parent_ds(self, keys: dict[str, Key]) -> list[str]:
        if self.ds is not None:
            return self.ds
        return [keys[k].ds(self.origin, 2, self.dnskey_flags.get(k)) for k in self.keys]

    def resolved_ds(self, keys: dict[str, Key]) -> list[str]:
        # A DS given as a function of the zone's name (its digest covers the owner).
        return [d(self.origin) if callable(d) else d for d in self.parent_ds(keys)]


def zone_text(z: Zone, keys: dict[str, Key], address: str, extra: list[str]) -> str:
    lines = [f"$ORIGIN {z.origin}", f"$TTL {TTL}",
             f"@\tIN\tSOA\t{z.ns_name} hostmaster.{z.origin.lstrip('.') or 'root.'} 1 7200 3600 1209600 {NEG_TTL}",
             f"@\tIN\tNS\t{z.ns_name}", f"{z.ns_name}\tIN\tA\t{address}"]
    lines += z.records + extra
    for k in z.keys:
        lines.append(keys[k].dnskey(z.dnskey_flags.get(k)))
    return "\n".join(lines) + "\n"


def stamp(days: float, now: float) -> str:
    import time
    return time.strftime("%Y%m%d%H%M%S", time.gmtime(now + days * 86400))


def sign(z: Zone, unsigned: Path, keys: dict[str, Key], now: float) -> str:
    """Signs (or not) and mutates; returns the text NSD serves."""
    if not z.keys:
        text = unsigned.read_text()
        return text if not z.mutations else "\n".join(r.line() for r in mutate(parse_plain(text, z), z)) + "\n"
    out = unsigned.with_suffix(".signed")
    args = ["ldns-signzone", "-o", z.origin, "-i", stamp(z.valid_days[0], now), "-e", stamp(z.valid_days[1], now)]
    if z.nsec3 is not None:
        iterations, salt, optout = z.nsec3
        args += ["-n", "-t", str(iterations)] + (["-s", salt] if salt else []) + (["-p"] if optout else [])
    args += ["-f", str(out), str(unsigned)] + [key_base(keys[k], z.origin, unsigned.parent) for k in z.keys]
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"ldns-signzone {z.origin}: {r.stderr.strip()}")
    rrs = parse_signed(out.read_text())
    return "\n".join(r.line() for r in mutate(rrs, z)) + "\n"


def key_base(k: Key, origin: str, directory: Path) -> str:
    """The key's file base; for a revoked key a copy named for the zone, because ldns-signzone then reads the
    public key (with its REVOKE flag) from the .key file, and refuses one whose owner is not the zone."""
    if not k.flags & 0x80:
        return str(k.base)
    base = directory / f"K{origin}+revoked+{k.name}"
    text = Path(f"{k.base}.key").read_text().split("\t", 1)[1]
    Path(f"{base}.key").write_text(f"{origin}\t{text}")
    shutil.copy(f"{k.base}.private", f"{base}.private")
    return str(base)


def parse_plain(text: str, z: Zone) -> list[RR]:
    """An unsigned zone's text as records (only the simple forms zone_text writes)."""
    out = []
    origin = z.origin
    for line in text.splitlines():
        if line.startswith("$") or not line.strip():
            continue
        parts = line.split("\t")
        owner = parts[0]
        owner = origin if owner == "@" else owner if owner.endswith(".") else f"{owner}.{origin}"
        rest = [p for p in parts[1:] if p]
        ttl = TTL
        if rest[0].isdigit():
            ttl = int(rest.pop(0))
        if rest[0] == "IN":
            rest.pop(0)
        out.append(RR(owner.lower(), ttl, rest[0], rest[1]))
    return out


def mutate(rrs: list[RR], z: Zone) -> list[RR]:
    for m in z.mutations:
        rrs = m(rrs, z)
    return rrs


# ---------------------------------------------------------------------------------------------------------------
# Mutations (each returns a function over the signed records)

def abs_name(name: str, z: Zone) -> str:
    if name == "@":
        return z.origin
    return (name if name.endswith(".") else f"{name}.{z.origin}").lower()


def edit_sig(owner: str, covered: str, index: int, value: Callable[[str], str]) -> Mutation:
    """Replaces field `index` of the RRSIGs over (owner, covered)."""
    def m(rrs: list[RR], z: Zone) -> list[RR]:
        o = abs_name(owner, z)
        for r in rrs:
            if r.type == "RRSIG" and r.owner == o and r.covered == covered:
                f = r.sig_fields()
                f[index] = value(f[index])
                r.rdata = " ".join(f)
        return rrs
    return m


def corrupt_b64(sig: str) -> str:
    raw = bytearray(base64.b64decode(sig))
    raw[len(raw) // 2] ^= 0x5A
    return base64.b64encode(bytes(raw)).decode()


def drop(owner: str, rtype: str, covered: str | None = None) -> Mutation:
    def m(rrs: list[RR], z: Zone) -> list[RR]:
        o = abs_name(owner, z)
        return [r for r in rrs if not (r.owner == o and r.type == rtype and (covered is None or r.covered == covered))]
    return m


def drop_sigs(owner: str, covered: str, algorithm: int | None = None) -> Mutation:
    def m(rrs: list[RR], z: Zone) -> list[RR]:
        o = abs_name(owner, z)
        return [r for r in rrs if not (r.type == "RRSIG" and r.owner == o and r.covered == covered and
                                       (algorithm is None or r.sig_fields()[1] == str(algorithm)))]
    return m


def set_ttl(owner: str, rtype: str, ttl: int) -> Mutation:
    def m(rrs: list[RR], z: Zone) -> list[RR]:
        o = abs_name(owner, z)
        for r in rrs:
            if r.owner == o and r.type == rtype:
                r.ttl = ttl
        return rrs
    return m


def add(*lines: str) -> Mutation:
    """Adds records after signing (unsigned data in a signed zone, or forged records)."""
    def m(rrs: list[RR], z: Zone) -> list[RR]:
        for line in lines:
            owner, ttl, rtype, rdata = line.replace("@Z.", z.origin).split(None, 3)
            rrs.append(RR(abs_name(owner, z), int(ttl), rtype, rdata))
        return rrs
    return m


def covering(name: str, z: Zone, rrs: list[RR]) -> RR | None:
    """The NSEC or NSEC3 record that matches or covers `name` in the signed zone."""
    nsec = [r for r in rrs if r.type == "NSEC"]
    if nsec:
        nsec.sort(key=lambda r: canonical_key(r.owner))
        target = canonical_key(abs_name(name, z))
        best = None
        for r in nsec:
            if canonical_key(r.owner) <= target:
                best = r
        return best or nsec[-1]
    n3 = sorted((r for r in rrs if r.type == "NSEC3"), key=lambda r: r.owner)
    if not n3 or z.nsec3 is None:
        return None
    h = nsec3_hash(abs_name(name, z), z.nsec3[0], z.nsec3[1])
    best = None
    for r in n3:
        if r.owner.split(".")[0] <= h:
            best = r
    return best or n3[-1]


def drop_denial(name: str) -> Mutation:
    """Removes the NSEC/NSEC3 that matches or covers `name`, and its RRSIG: a gap in the chain."""
    def m(rrs: list[RR], z: Zone) -> list[RR]:
        c = covering(name, z, rrs)
        if c is None:
            return rrs
        return [r for r in rrs if not (r.owner == c.owner and r.type in (c.type, "RRSIG") and
                                       (r.type != "RRSIG" or r.covered == c.type))]
    return m


def corrupt_denial(name: str) -> Mutation:
    def m(rrs: list[RR], z: Zone) -> list[RR]:
        c = covering(name, z, rrs)
        if c is not None:
            for r in rrs:
                if r.type == "RRSIG" and r.owner == c.owner and r.covered == c.type:
                    f = r.sig_fields()
                    f[-1] = corrupt_b64(f[-1])
                    r.rdata = " ".join(f)
        return rrs
    return m


def denial_bitmap_add(name: str, rtype: str) -> Mutation:
    """Adds a type to the bitmap of the NSEC/NSEC3 at `name` (its signature no longer matches)."""
    def m(rrs: list[RR], z: Zone) -> list[RR]:
        c = covering(name, z, rrs)
        if c is not None:
            c.rdata = f"{c.rdata} {rtype}"
        return rrs
    return m


def colliding_rsa_keys(target_tag: int, count: int, seed: int) -> list[str]:
    """RSA public keys (algorithm 8) whose key tag equals target_tag: the KeyTrap shape (RFC 4034 key tags collide
    by design; a validator has to try each)."""
    import random
    rng = random.Random(seed)
    out = []
    while len(out) < count:
        body = bytearray(b"\x03\x01\x00\x01" + bytes(rng.randrange(256) for _ in range(128)))
        body[4] |= 0x80
        body[-3] |= 1
        prefix = struct.pack("!HBB", 257, 3, 8)
        base = bytearray(prefix + body)
        base[-1] = base[-2] = 0
        acc0 = 0
        for i, b in enumerate(base):
            acc0 += b if i & 1 else b << 8
        # The last two bytes sit at an even then an odd offset (the rdata length is even): they add v = hi<<8|lo.
        if len(base) % 2:
            continue
        for v in range(65536):
            acc = acc0 + v
            if ((acc + ((acc >> 16) & 0xFFFF)) & 0xFFFF) == target_tag:
                base[-2], base[-1] = v >> 8, v & 0xFF
                out.append(base64.b64encode(bytes(base[4:])).decode())
                break
    return out


def bogus_sigs(owner: str, covered: str, count: int, algorithm: int) -> Mutation:
    """Adds `count` RRSIGs over (owner, covered) copying a real one's fields but with random signature bytes and the
    given algorithm: with colliding keys in the DNSKEY RRset (colliding_rsa_keys), a validator that tries every
    pair does keys x signatures verifications (KeyTrap, CVE-2023-50387)."""
    def m(rrs: list[RR], z: Zone) -> list[RR]:
        o = abs_name(owner, z)
        template = next((r for r in rrs if r.type == "RRSIG" and r.owner == o and r.covered == covered), None)
        if template is None:
            return rrs
        for _ in range(count):
            f = template.sig_fields()
            f[1] = str(algorithm)
            f[-1] = base64.b64encode(os.urandom(128)).decode()
            rrs.append(RR(o, template.ttl, "RRSIG", " ".join(f)))
        return rrs
    return m
