"""The lab's servers: one NSD per group of addresses, started (`up`) and stopped (`down`, which finds them through
.build/lab/active)."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path


REPO = Path(__file__).resolve().parents[2]
LAB_ROOT = REPO / ".build" / "lab"
ACTIVE = LAB_ROOT / "active"  # one running lab directory per line, so `down` finds them


def log(msg: str) -> None:
    print(f"lab: {msg}", file=sys.stderr, flush=True)


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
    # A stale pid file may name a recycled pid: only count it if it is NSD with our config. The lab is matched by
    # its directory's name (unique per parameters), since it may have been started through a symlinked path.
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return None
    return pid if "nsd" in cmdline and f"/{lab.name}/" in cmdline else None


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
        if cmd.startswith(("nsd ", "/usr/sbin/nsd ")) and f"/{lab.name}/nsd-" in cmd:
            try:
                os.kill(int(proc.name), signal.SIGKILL)
            except OSError:
                pass
    if ACTIVE.exists():
        rest = [d for d in ACTIVE.read_text().split() if d != str(lab)]
        ACTIVE.write_text("".join(d + "\n" for d in rest))
