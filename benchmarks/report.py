"""Turn benchmark JSON rows (benchmarks/deepcache.py --json) into a Markdown table.

    python -m benchmarks.report benchmarks/results/deepcache-256.json
"""
from __future__ import annotations

import json
import math
import sys


def markdown(rows: list[dict]) -> str:
    lines = ["| size | setting | sampling speed-up | end-to-end | S(N,f) | measured/theory | PSNR vs no cache | full/reused |",
             "|---|---|---|---|---|---|---|---|"]
    for row in rows:
        theory = row["theoretical_speedup"]
        has_theory = not math.isnan(theory)
        theory_text = f"{theory:.2f}x" if has_theory else "-"
        ratio_text = f"{row['measured_over_theoretical']:.0%}" if has_theory else "-"
        lines.append(
            f"| {row['size']} | {row['setting']} | {row['sampling_speedup']:.2f}x | {row['total_speedup']:.2f}x | "
            f"{theory_text} | {ratio_text} | "
            f"{row['psnr_db']:.1f} dB | {row['full_evaluations']}/{row['reused_evaluations']} |")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    rows: list[dict] = []
    for path in argv:
        with open(path) as stream:
            rows += json.load(stream)
    print(markdown(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
