"""bench/propagation's clients: loopback addresses and ports, the API over HTTP, DNS queries to the edges and
their Prometheus metrics (histogram quantiles), and percentiles."""
from __future__ import annotations

import http.client
import json
import random
import socket
import struct
import threading


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def loopback() -> str:
    while True:
        addr = f"127.{random.randint(100, 249)}.{random.randint(0, 255)}.{random.randint(1, 254)}"
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.bind((addr, 53))
            return addr
        except OSError:
            continue


class Api:
    """The zone API over one keep-alive connection per thread."""

    def __init__(self, port: int, token: str):
        self.port, self.token, self.local = port, token, threading.local()

    def call(self, method: str, path: str, body=None, timeout: float = 10.0):
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = self.local.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        try:
            conn.request(method, path, json.dumps(body) if body is not None else None, headers)
            response = conn.getresponse()
            data = json.loads(response.read() or b"{}")
        except (OSError, http.client.HTTPException, ValueError):
            conn.close()
            self.local.conn = None
            raise
        if not data.get("success"):
            raise RuntimeError(f"{method} {path}: {data.get('errors')}")
        return data["result"]


def dns_query(addr: str, name: str, qtype: int, timeout: float = 1.0) -> list[bytes]:
    """RDATA of the answers (our own minimal client: one UDP question, no recursion)."""
    qid = random.randint(0, 65535)
    q = struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\0" + struct.pack(">HH", qtype, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(q, (addr, 53))
        data = s.recv(4096)
    an = struct.unpack(">H", data[6:8])[0]
    p = len(q)
    out = []
    for _ in range(an):
        while True:  # owner (compressed or not)
            b = data[p]
            if b >= 0xC0:
                p += 2
                break
            p += 1 + b
            if b == 0:
                break
        rtype, _, _, rdlen = struct.unpack(">HHIH", data[p:p + 10])
        p += 10
        if rtype == qtype:
            out.append(data[p:p + rdlen])
        p += rdlen
    return out


def metrics(addr: str, port: int = 9153) -> dict[str, float]:
    conn = http.client.HTTPConnection(addr, port, timeout=5)
    conn.request("GET", "/metrics")
    text = conn.getresponse().read().decode()
    conn.close()
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            try:
                values[key] = float(value)
            except ValueError:
                pass
    return values


def histogram_quantiles(values: dict[str, float], name: str) -> dict[str, float]:
    """p50/p99 of a Prometheus histogram (ms): the upper bound of the bucket they fall in, and the estimate
    interpolated linearly inside that bucket (as PromQL's histogram_quantile does); and the count."""
    buckets = sorted((float(k.split('le="')[1].rstrip('"}')), v) for k, v in values.items() if k.startswith(name + "_bucket"))
    count = values.get(name + "_count", 0)
    out = {"count": count}
    for q in (0.5, 0.99):
        rank, lower, below = q * count, 0.0, 0.0
        out[f"p{int(q * 100)}_ms_at_most"] = out[f"p{int(q * 100)}_ms"] = float("inf")
        for le, c in buckets:
            if c >= rank and count > 0:
                out[f"p{int(q * 100)}_ms_at_most"] = le * 1000
                if le != float("inf"):
                    out[f"p{int(q * 100)}_ms"] = (lower + (le - lower) * (rank - below) / max(c - below, 1)) * 1000
                break
            lower, below = le, c
    return out


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, max(0, int(round(q * len(values) + 0.5)) - 1))]
