#!/usr/bin/env python3
"""Draws the probe's measurements as an SVG: propagation time per change and edge over the run (log scale), with
the faults of the run marked. bench/propagation/plot.py RESULT_DIR OUT.svg (RESULT_DIR holds probe.jsonl and
result.json from bench/propagation/run). No dependencies: the SVG is written by hand."""
import json
import math
import re
import sys
from pathlib import Path

COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2"]


def main():
    directory, out = Path(sys.argv[1]), Path(sys.argv[2])
    rows = [json.loads(line) for line in (directory / "probe.jsonl").read_text().splitlines() if line.strip()]
    result = json.loads((directory / "result.json").read_text())
    t0 = min(r["unix_ms"] for r in rows)
    edges = sorted({r["edge"] for r in rows})
    width, height, left, right, top, bottom = 900, 420, 70, 150, 40, 50
    span = max(r["unix_ms"] for r in rows) - t0 or 1
    lo, hi = 1.0, 100000.0  # ms, log scale

    def x(ms):
        return left + (ms - t0) / span * (width - left - right)

    def y(value_ms):
        v = min(max(value_ms, lo), hi)
        return top + (math.log10(hi) - math.log10(v)) / (math.log10(hi) - math.log10(lo)) * (height - top - bottom)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">',
             f'<rect width="{width}" height="{height}" fill="white"/>',
             f'<text x="{left}" y="22" font-size="14">Propagation API → edge answer per change (ananas probe every 100 ms, '
             f'load {result["achieved_rate"]:.0f} changes/s, {len(edges)} edges)</text>']
    for decade in range(0, 6):
        v = 10 ** decade
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#ddd"/>')
        label = f"{v} ms" if v < 1000 else f"{v // 1000} s"
        parts.append(f'<text x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{label}</text>')
    # Faults, from the run's event log ("[  12.3s] kill -9 ...") placed by the probe's clock: relative to the load start.
    events = [e for e in result["events"] if re.search(r"kill -9|started again", e)]
    load_start = next((float(re.match(r"\[\s*([\d.]+)s\]", e).group(1)) for e in result["events"] if "bootstrapped" in e), 0.0)
    for k, e in enumerate(events):
        at = float(re.match(r"\[\s*([\d.]+)s\]", e).group(1)) - load_start
        px = left + at * 1000 / span * (width - left - right)
        if left <= px <= width - right:
            parts.append(f'<line x1="{px:.1f}" x2="{px:.1f}" y1="{top}" y2="{height - bottom}" stroke="#999" stroke-dasharray="4 3"/>')
            parts.append(f'<text x="{px + 3:.1f}" y="{top + 12 + (k % 3) * 11}" font-size="10" fill="#666">{e.split("] ", 1)[1].split(" (")[0][:30]}</text>')
    for i, edge in enumerate(edges):
        color = COLORS[i % len(COLORS)]
        for r in rows:
            if r["edge"] != edge:
                continue
            if r["seconds"] is None:
                parts.append(f'<text x="{x(r["unix_ms"]):.1f}" y="{top - 2}" fill="{color}" font-size="10">×</text>')
            else:
                parts.append(f'<circle cx="{x(r["unix_ms"]):.1f}" cy="{y(r["seconds"] * 1000):.1f}" r="1.6" fill="{color}" fill-opacity="0.7"/>')
        p = result["propagation"].get(edge, {})
        parts.append(f'<circle cx="{width - right + 14}" cy="{top + 20 + i * 18}" r="4" fill="{color}"/>')
        parts.append(f'<text x="{width - right + 22}" y="{top + 24 + i * 18}">{edge} p99 {p.get("p99_ms", float("nan")):.0f} ms</text>')
    for s in range(0, int(span / 1000) + 1, 10):
        px = left + s * 1000 / span * (width - left - right)
        parts.append(f'<text x="{px:.1f}" y="{height - bottom + 16}" text-anchor="middle">{s} s</text>')
    parts.append(f'<text x="{(left + width - right) / 2}" y="{height - 10}" text-anchor="middle">time since the probe started</text>')
    parts.append("</svg>")
    out.write_text("\n".join(parts) + "\n")


if __name__ == "__main__":
    main()
