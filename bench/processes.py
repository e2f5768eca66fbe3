"""bench/run's processes: every process started is recorded and killed on exit, Ctrl-C and SIGTERM; the
resolvers under test (their loopback address, working directory and readiness)."""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

PEERS = Path(__file__).resolve().parent / "peers"


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
