"""bench/cluster's nodes (their addresses, configs, processes, metrics and ring), the client load on them and the
faults injected into them."""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import bench as B


NET = "127.78"  # the lab's servers (not bench/run's 127.77, so both can be up)
BASE = "127.0.1"
DNS_PORT, PEER_PORT, METRICS_PORT, CONTROL_PORT = 5353, 5390, 9153, 9154


def log(msg: str) -> None:
    print(f"cluster: {msg}", file=sys.stderr, flush=True)


class Node:
    def __init__(self, index: int, run: Path):
        self.index = index
        self.id = f"n{index}"
        self.address = f"{BASE}.{index}"
        self.work = run / self.id
        self.work.mkdir(parents=True, exist_ok=True)
        self.proc: subprocess.Popen | None = None

    def config(self, lab: Path, peers: list["Node"] | None, secret: str, cache_mb: int, query_log: bool = False) -> Path:
        lines = [
            f'listen = ["udp://{self.address}:{DNS_PORT}", "tcp://{self.address}:{DNS_PORT}"]',
            f'root-hints = "{lab}/root.hints"',
            "[resolver]", "query-localhost = true",
            "[cache]", f'size = "{cache_mb}MiB"',
            "[udp]", "sockets = 1", "threads-per-socket = 1",
            # An unsigned lab: validation on would make every answer bogus under the real root's anchors; a signed
            # one is validated from its own root's DS.
            *(["[dnssec]", 'validation = "on"', f'trust-anchor = "{lab}/trust-anchor.ds"'] if (lab / "trust-anchor.ds").exists()
              else ["[dnssec]", 'validation = "off"']),
            "[metrics]", f'listen = "http://{self.address}:{METRICS_PORT}"',
            "[control]", f'listen = "http://{self.address}:{CONTROL_PORT}"', f'token-file = "{self.work}/control.token"',
            "[log]", 'level = "warning"',
        ]
        if query_log:
            lines.append(f'query-log = "{self.work}/queries.log"')
        if peers:
            members = ", ".join(f'{{ id = "{p.id}", address = "{p.address}:{PEER_PORT}" }}' for p in peers)
            lines += ["[cluster]", f'node-id = "{self.id}"', f"peers = [{members}]", f'secret = "{secret}"']
        path = self.work / "ananas.toml"
        path.write_text("\n".join(lines) + "\n")
        return path

    def start(self, conf: Path) -> None:
        self.proc = B.start([B.ANANAS, "serve", "--config", str(conf)], self.work / "ananas.log")

    def wait_ready(self, probe: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc and self.proc.poll() is not None:
                raise RuntimeError(f"{self.id} exited; see {self.work / 'ananas.log'}")
            if B.ask(self.address, DNS_PORT, probe, "A", timeout=1)[0] == "NOERROR":
                return
            time.sleep(0.3)
        raise RuntimeError(f"{self.id} did not answer {probe} within {timeout} s")

    def signal(self, sig: int) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)

    def metrics(self) -> dict[str, float]:
        values: dict[str, float] = {}
        try:
            with urllib.request.urlopen(f"http://{self.address}:{METRICS_PORT}/metrics", timeout=5) as r:
                text = r.read().decode()
        except OSError:
            return values
        for line in text.splitlines():
            if line.startswith("#") or " " not in line:
                continue
            name, value = line.rsplit(" ", 1)
            base = name.split("{", 1)[0]
            try:
                values[base] = values.get(base, 0.0) + float(value) if "{" in name and "_bucket" not in name else float(value)
            except ValueError:
                pass
        return values

    def cluster_status(self) -> dict | None:
        try:
            token = (self.work / "control.token").read_text().strip()
            request = urllib.request.Request(f"http://{self.address}:{CONTROL_PORT}/cluster", headers={"Authorization": f"Bearer {token}"})
            with urllib.request.urlopen(request, timeout=1) as r:
                return json.loads(r.read())
        except (OSError, ValueError):
            return None


def workload(lab: Path, out: Path, streams: int, per_stream: int, seed: int) -> list[Path]:
    """One independent Zipf sample per client stream over every name of the lab (popularity: a fixed random order)."""
    names = [line.split("\t")[:2] for line in (lab / "names.tsv").read_text().splitlines()]
    random.Random(seed).shuffle(names)
    files = []
    for s in range(streams):
        path = out / f"stream-{streams}-{s}.txt"
        if not path.exists():
            picks = B.zipf_choices(random.Random(seed * 1000 + s + streams * 100), names, 0.9, per_stream)
            path.write_text("".join(f"{q} {t}\n" for q, t in picks))
        files.append(path)
    return files


def run_clients(nodes: list[Node], files: list[Path], rate: float, duration: float, out: Path, label: str, edns: bool = False) -> list[B.Perf]:
    """One dnsperf per node, at the same time, each at rate/N; returns their results (latencies included). With
    edns the queries carry an OPT record, so that SERVFAILs carry their Extended DNS Errors (for --query-log)."""
    results: list[B.Perf | None] = [None] * len(nodes)

    def one(i: int) -> None:
        results[i] = B.dnsperf(nodes[i].address, DNS_PORT, files[i], "0-1", out / f"{label}-{nodes[i].id}.dnsperf",
                               duration=duration, rate=rate / len(nodes), outstanding=500, verbose=True, timeout=2,
                               edns=edns)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(nodes))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return [r for r in results if r is not None]


def faults(nodes: list[Node], duration: float, conf: dict[str, Path], record: dict) -> None:
    """kill -9 node 2 at T/3 (restarted 10 s later) and SIGSTOP node 3 for 5 s at 2T/3, timing node 1's view of the ring."""
    watcher, victim, paused = nodes[0], nodes[1], nodes[2]

    def until(predicate, limit: float) -> float | None:
        start = time.monotonic()
        while time.monotonic() - start < limit:
            status = watcher.cluster_status()
            if status is not None and predicate(status["ring"]):
                return time.monotonic() - start
            time.sleep(0.05)
        return None

    time.sleep(duration / 3)
    record["kill_at"] = time.time()
    victim.signal(signal.SIGKILL)
    record["kill_out_of_ring_s"] = until(lambda ring: victim.id not in ring, 5)
    time.sleep(10)
    victim.start(conf[victim.id])
    record["restart_at"] = time.time()
    record["rejoin_s"] = until(lambda ring: victim.id in ring, 30)
    time.sleep(max(0.0, duration * 2 / 3 - (time.time() - record["kill_at"]) - duration / 3))
    record["stop_at"] = time.time()
    paused.signal(signal.SIGSTOP)
    record["stop_out_of_ring_s"] = until(lambda ring: paused.id not in ring, 5)
    time.sleep(max(0.0, 5 - (time.time() - record["stop_at"])))
    paused.signal(signal.SIGCONT)
    record["cont_at"] = time.time()
    record["resume_s"] = until(lambda ring: paused.id in ring, 10)


def wait_ring(nodes: list[Node]) -> None:
    """Until every node has every node in its ring (30 s at most)."""
    deadline = time.monotonic() + 30
    while any(len((n.cluster_status() or {}).get("ring", [])) < len(nodes) for n in nodes):
        if time.monotonic() > deadline:
            raise RuntimeError("the ring did not form within 30 s")
        time.sleep(0.2)
