#!/usr/bin/env python3
"""A fresh server's first seconds of cold work, variants alternating in each round (docs/BENCHMARKS.md, "Start-up
warm-up"). Each run: start the server pinned to CPU 0 with bench/peers' config, time its first answer, then dnsperf
(CPU 1) over the bench/run cold list with per-second rates (-S 1) and the server's CPU from /proc/PID/stat.
Variants: warm (Ananas as configured), nowarm (resolver.warm-up = "0s"), unbound, and NAME:VAR=V,VAR=V to run Ananas
with environment variables (e.g. warm:DOTNET_TC_CallCountThreshold=10).
usage (as root, lab up): bench/dnsperf/first-seconds.py --lab .build/lab/z2000-signed-127.81-v4 --address 127.81.250.1
       --rounds 3 warm nowarm unbound"""
import argparse, os, re, signal, subprocess, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))
from workloads import make_workloads  # noqa: E402

ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
ap.add_argument("--lab", required=True, type=Path)
ap.add_argument("--address", required=True, help="loopback address the server listens on (inside the lab's net)")
ap.add_argument("--port", type=int, default=5399)
ap.add_argument("--rounds", type=int, default=3)
ap.add_argument("--duration", type=int, default=20)
ap.add_argument("--work", type=Path, default=Path("/tmp/first-seconds"))
ap.add_argument("variants", nargs="+")
cfg = ap.parse_args()
cfg.work.mkdir(parents=True, exist_ok=True)
(cfg.work / "work").mkdir(exist_ok=True)
w = make_workloads(cfg.lab.resolve(), cfg.work / "q", 400_000, 3)


def render(name: str, extra: str = "") -> Path:
    text = (ROOT / "bench/peers" / name).read_text()
    for k, v in {"ADDR": cfg.address, "PORT": str(cfg.port), "LAB": str(cfg.lab.resolve()), "WORK": str(cfg.work / "work"),
                 "THREADS": "1", "CACHE_MB": "256", "CACHE_MB_THIRD": "85", "CACHE_MB_TWO_THIRDS": "171"}.items():
        text = text.replace(f"@{k}@", v)
    if extra:
        text = text.replace("[resolver]\n", "[resolver]\n" + extra + "\n")
    path = cfg.work / name
    path.write_text(text)
    return path


def cpu_seconds(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def answers() -> bool:
    r = subprocess.run(["dig", "+tries=1", "+time=1", f"@{cfg.address}", "-p", str(cfg.port), w.probe, "A"], capture_output=True, text=True)
    return "status: NOERROR" in r.stdout


def run(variant: str):
    env = dict(os.environ)
    if variant == "unbound":
        cmd = ["unbound", "-d", "-c", str(render("unbound.conf"))]
    else:
        if ":" in variant:
            for kv in variant.split(":", 1)[1].split(","):
                k, v = kv.split("=", 1)
                env[k] = v
        cmd = [str(ROOT / "ananas"), "serve", "--config", str(render("ananas.toml", 'warm-up = "0s"' if variant.startswith("nowarm") else ""))]
    t0 = time.monotonic()
    p = subprocess.Popen(["taskset", "-c", "0", *cmd], stdout=open(cfg.work / "server.log", "w"), stderr=subprocess.STDOUT, env=env,
                         start_new_session=True)
    try:
        while not answers():
            if p.poll() is not None or time.monotonic() - t0 > 90:
                raise RuntimeError(f"{variant} did not start; see {cfg.work / 'server.log'}")
            time.sleep(0.05)
        ready = time.monotonic() - t0
        c0 = cpu_seconds(p.pid)
        r = subprocess.run(["taskset", "-c", "1", "dnsperf", "-s", cfg.address, "-p", str(cfg.port), "-d", str(w.cold[0]), "-c", "4", "-T", "2",
                            "-q", "200", "-t", "5", "-l", str(cfg.duration), "-S", "1"], capture_output=True, text=True)
        c1 = cpu_seconds(p.pid)
    finally:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
    rates = [float(x) for x in re.findall(r"^\s*[\d.]+: ([\d.]+)", r.stdout, re.M)]
    done = int(re.search(r"Queries completed:\s+(\d+)", r.stdout).group(1))
    qps = float(re.search(r"Queries per second:\s+([\d.]+)", r.stdout).group(1))
    return ready, rates, qps, (c1 - c0) * 100_000 / max(done, 1)


print(f"# {time.strftime('%H:%M:%S', time.gmtime())} UTC, load average {' '.join(open('/proc/loadavg').read().split()[:3])}", flush=True)
for rnd in range(cfg.rounds):
    for variant in cfg.variants:
        ready, rates, qps, cpu = run(variant)
        print(f"{rnd} {variant:28s} first answer {ready:5.2f} s  {qps:8.0f} q/s  {cpu:6.2f} CPU s/100k  per second: "
              f"{' '.join(f'{x:.0f}' for x in rates)}", flush=True)
        time.sleep(1)
print(f"# end {time.strftime('%H:%M:%S', time.gmtime())} UTC, load average {' '.join(open('/proc/loadavg').read().split()[:3])}", flush=True)
