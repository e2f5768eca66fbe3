#!/usr/bin/env python3
"""Writes N zones of about R records each (bench/auth/run): zone files, an NSD zone list, a Knot zone list,
one-JSON-object-per-record lines (for the size comparison) and query files for dnsperf (existing names in a
Zipf mix, 90%, and names that do not exist, 10%)."""
import json, os, random, sys

out, zones, per_zone, queries = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
random.seed(42)
os.makedirs(f"{out}/zones", exist_ok=True)
names = []
with open(f"{out}/nsd-zones.conf", "w") as nsd, open(f"{out}/knot-zones.conf", "w") as knot, open(f"{out}/records.jsonl", "w") as js:
    for i in range(zones):
        origin = f"zone{i}.bench."
        lines = [f"$ORIGIN {origin}", "$TTL 3600", "@ IN SOA ns1 hostmaster 1 7200 3600 1209600 300", "@ IN NS ns1", "ns1 IN A 192.0.2.1"]
        recs = [(origin, "SOA", "ns1 hostmaster 1 7200 3600 1209600 300"), (origin, "NS", f"ns1.{origin}"), (f"ns1.{origin}", "A", "192.0.2.1")]
        for r in range(per_zone - 3):
            host = f"h{r}"
            kind = r % 4
            if kind == 0: rr = ("A", f"198.51.{r % 256}.{i % 254 + 1}")
            elif kind == 1: rr = ("AAAA", f"2001:db8:{i >> 16:x}:{i & 0xffff:x}::{r:x}")
            elif kind == 2: rr = ("TXT", f'"v=bench {i} {r}"')
            else: rr = ("CNAME", f"h{r - 3}")
            lines.append(f"{host} IN {rr[0]} {rr[1]}")
            recs.append((f"{host}.{origin}", rr[0], rr[1]))
            names.append((f"{host}.{origin}", "A" if rr[0] in ("A", "CNAME") else rr[0]))
        with open(f"{out}/zones/{origin}zone", "w") as f: f.write("\n".join(lines) + "\n")
        nsd.write(f'zone:\n    name: "{origin}"\n    zonefile: "{out}/zones/{origin}zone"\n')
        knot.write(f'  - domain: {origin}\n    file: "{out}/zones/{origin}zone"\n')
        for owner, t, data in recs: js.write(json.dumps({"name": owner, "type": t, "ttl": 3600, "data": data}) + "\n")
# Zipf over names (s = 1.1), 10% missing names.
weights = [1.0 / (k + 1) ** 1.1 for k in range(len(names))]
picked = random.choices(names, weights=weights, k=queries)
with open(f"{out}/queries.txt", "w") as q:
    for k, (name, t) in enumerate(picked):
        if k % 10 == 9: q.write(f"nx{k}.zone{random.randrange(zones)}.bench. A\n")
        else: q.write(f"{name} {t}\n")
print(f"{zones} zones, {zones * per_zone} records, {queries} queries in {out}")
