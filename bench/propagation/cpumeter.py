"""CPU time and context switches of the processes of a bench/propagation run, per change (used by bench.py)."""
from __future__ import annotations

import os
import threading
from pathlib import Path


def proc_cpu(pid: int) -> tuple[float, float]:
    """(user+sys seconds of the process, of its reaped children) from /proc/PID/stat; raises OSError when it is gone."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / tick, (int(fields[13]) + int(fields[14])) / tick


def proc_switches(pid: int) -> int:
    """Context switches (voluntary + not) of every live thread of the process: its wake-ups."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            for line in (task / "status").read_text().splitlines():
                if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


class CpuMeter:
    """CPU time and context switches of each process of the run during the load, sampled every second so that a
    process killed and started again counts for both lives (PostgreSQL: the postmaster and its backends)."""

    def __init__(self, bench):
        self.bench, self.cpu, self.switches, self.last, self.stop = bench, {}, {}, {}, threading.Event()

    def pids(self) -> dict[str, list[int]]:
        out = {name: [p.pid] for name, p in self.bench.procs.items() if p.poll() is None}
        try:
            master = int((self.bench.pg_dir / "data/postmaster.pid").read_text().split()[0])
            out["postgres"] = [master] + [int(t.name) for t in Path("/proc").iterdir() if t.name.isdigit() and self.ppid(int(t.name)) == master]
        except (OSError, ValueError, AttributeError):
            pass
        return out

    @staticmethod
    def ppid(pid: int) -> int:
        try:
            return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError):
            return -1

    def sample(self):
        for name, pids in self.pids().items():
            for pid in pids:
                try:
                    own, reaped = proc_cpu(pid)
                    switches = proc_switches(pid)
                except OSError:
                    continue
                value = own + (reaped if name == "postgres" and pid == pids[0] else 0)
                before = self.last.get((name, pid))
                self.last[(name, pid)] = (value, switches)
                if before is not None:
                    self.cpu[name] = self.cpu.get(name, 0.0) + value - before[0]
                    self.switches[name] = self.switches.get(name, 0) + switches - before[1]

    def __enter__(self):
        self.sample()
        self.own0 = os.times()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()
        return self

    def run(self):
        while not self.stop.wait(1.0):
            self.sample()

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()
        self.sample()
        own1 = os.times()
        self.cpu["driver"] = (own1.user + own1.system) - (self.own0.user + self.own0.system)

    def per_change(self, changes: int) -> dict[str, dict[str, float]]:
        return {name: {"cpu_ms_per_change": self.cpu[name] * 1000 / max(changes, 1), "cpu_s": self.cpu[name],
                       "switches_per_change": self.switches.get(name, 0) / max(changes, 1)} for name in sorted(self.cpu)}
