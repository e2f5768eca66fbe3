"""bench/run's workloads: query files made once per lab and seed from the lab's names.tsv and zones.tsv, and
the Zipf draw they use."""
from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path


# ---------------------------------------------------------------------------------------------------------------
# Workloads (query files are made once per lab and seed, from the lab's names.tsv and zones.tsv)


@dataclass
class Workloads:
    hot: Path
    mixed: Path
    cold: list[Path]
    probe: str


def zipf_choices(rng: random.Random, items: list, s: float, k: int) -> list:
    cum = []
    total = 0.0
    for rank in range(1, len(items) + 1):
        total += 1.0 / rank ** s
        cum.append(total)
    return rng.choices(items, cum_weights=cum, k=k)


def make_workloads(lab: Path, out: Path, cold_size: int, cold_chunks: int, seed: int = 9) -> Workloads:
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    names = []
    for line in (lab / "names.tsv").read_text().splitlines():
        q, t, idx, rc = line.split("\t")
        names.append((q, t, rc))
    zones = [line.split("\t") for line in (lab / "zones.tsv").read_text().splitlines()]
    order = names[:]
    rng.shuffle(order)  # popularity rank: a fixed random order of every (name, type) in the lab

    hot = out / "hot.txt"
    hot.write_text("".join(f"{q} {t}\n" for q, t, rc in order[:1000] if rc == "NOERROR"))

    mixed = out / "mixed.txt"
    picks = zipf_choices(rng, order, 0.9, 200_000)
    plain = [z for z in zones if z[5] == "0"]  # zones without a wildcard: a name that is not there is NXDOMAIN
    ranked_plain = plain[:]
    rng.shuffle(ranked_plain)
    nx_zones = zipf_choices(rng, ranked_plain, 0.9, 200_000) if ranked_plain else []
    with open(mixed, "w") as f:
        for i, (q, t, rc) in enumerate(picks):
            if nx_zones and rng.random() < 0.05:
                f.write(f"nx{rng.randrange(1 << 30):x}.{nx_zones[i][1]} A\n")
            else:
                f.write(f"{q} {t}\n")

    wild = [z[1] for z in zones if z[5] == "1"]
    rng.shuffle(wild)
    cold = []
    serial = 0
    for c in range(cold_chunks):
        path = out / f"cold{c}.txt"
        with open(path, "w") as f:
            for i in range(cold_size):
                serial += 1
                f.write(f"c{serial}.{wild[(serial - 1) % len(wild)]} {'A' if serial % 4 else 'TXT'}\n")
        cold.append(path)
    return Workloads(hot, mixed, cold, probe=f"www.{zones[0][1]}")
