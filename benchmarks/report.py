"""Markdown tables from benchmark JSON: results documents of ``python -m benchmarks.run`` or the
older row lists of ``python -m benchmarks.deepcache --json``.

    python -m benchmarks.report benchmarks/results/measured.json
    python -m benchmarks.report benchmarks/results/deepcache-256.json
    python -m benchmarks.report benchmarks/results/peers-256.json
"""
from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

from .tables import document_markdown, perf_table


def markdown(rows: list[dict[str, Any]]) -> str:
    """The table of the older row-list format (benchmarks.deepcache)."""
    lines = ["| size | setting | sampling speed-up | end-to-end | S(N,f) | measured/theory | PSNR vs no cache | full/reused |",
             "|---|---|---|---|---|---|---|---|"]
    for row in rows:
        theory = row["theoretical_speedup"]
        has_theory = theory is not None and not math.isnan(theory)
        theory_text = f"{theory:.2f}x" if has_theory else "-"
        ratio_text = f"{row['measured_over_theoretical']:.0%}" if has_theory else "-"
        lines.append(
            f"| {row['size']} | {row['setting']} | {row['sampling_speedup']:.2f}x | {row['total_speedup']:.2f}x | "
            f"{theory_text} | {ratio_text} | "
            f"{row['psnr_db']:.1f} dB | {row['full_evaluations']}/{row['reused_evaluations']} |")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    rows: list[dict[str, Any]] = []
    perf: list[dict[str, Any]] = []
    for path in argv:
        with open(path) as stream:
            data = json.load(stream)
        if isinstance(data, dict) and "samples_per_full_call" in data:
            perf.append(data)
        elif isinstance(data, dict) and data.get("benchmark") == "ray_scaling":
            from .ray_scaling import markdown as ray_markdown

            print(ray_markdown(data))
        elif isinstance(data, dict) and data.get("benchmark") == "deepcache_ucache":
            from .deepcache_ucache import markdown as stacking_markdown

            print(stacking_markdown(data))
        elif isinstance(data, dict) and data.get("schema") == "sdcpp-peers/1":
            from .peers import markdown as peers_markdown

            print(peers_markdown(data))
        elif isinstance(data, dict) and (data.get("schema") == "sdcpp-builds/1" or {"per_step", "rows"} <= set(data)):
            from .builds import markdown as builds_markdown

            print(builds_markdown(data))
        elif isinstance(data, dict) and data.get("schema") == "sdcpp-weight-types/1":
            from .weight_types import markdown as weight_types_markdown

            print(weight_types_markdown(data))
        elif isinstance(data, dict) and data.get("schema") == "sdcpp-kernels/1":
            from .kernels import markdown as kernels_markdown

            print(kernels_markdown(data))
        elif isinstance(data, dict) and data.get("schema") == "sdcpp-engine-profile/1":
            from .engine_profile import markdown as profile_markdown

            print(profile_markdown(data))
        elif isinstance(data, dict):
            print(document_markdown(data, Path(path).stem))
        else:
            rows += data
    if perf:
        print(perf_table(perf))
    if rows:
        print(markdown(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
