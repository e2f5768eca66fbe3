"""bench/run --cross-check: a tiny DNS client (UDP, TCP on truncation) so both resolvers see exactly the same
queries, and the comparison of their answers."""
from __future__ import annotations

import collections
import ipaddress
import random
import re
import socket
import struct
import time
from concurrent.futures import ThreadPoolExecutor

from processes import Resolver, log


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
