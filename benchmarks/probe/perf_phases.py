"""Where a generation's CPU time goes: perf samples of deepcache_probe split by engine phase
(model load, text encoder, sampling, VAE decode) and grouped into operation categories.

    perf record -F 200 -o base.data -- build/engine-cli/deepcache_probe MODEL 128 2 7 1 0 0 > base.log
    python -m benchmarks.probe.perf_phases base.data base.log [--json out.json]

The probe prints each engine log line with milliseconds since its start; the first perf sample is
taken as that start (both are within a few ms of exec).
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Optional, Sequence

CATEGORIES = (
    ("matmul q8_0 (weights)", re.compile(r"vec_dot_q8_0|quantize_row_q8|q8_0")),
    ("matmul q4_0 (weights)", re.compile(r"vec_dot_q4_0|q4_0")),
    ("matmul f16 (attention, VAE, f16 weights)", re.compile(r"vec_dot_f16|fp16|f16")),
    ("matmul f32", re.compile(r"vec_dot_f32")),
    ("im2col (conv lowering)", re.compile(r"im2col")),
    ("mul_mat driver", re.compile(r"forward_mul_mat")),
    ("softmax", re.compile(r"soft_max")),
    ("norms (group/layer)", re.compile(r"norm")),
    ("activations (silu/gelu)", re.compile(r"silu|gelu")),
    ("elementwise add/mul/scale", re.compile(r"forward_add|forward_mul\b|forward_mul_|forward_scale|binary|vec_add|vec_mul")),
    ("copies (cpy/cont/concat/permute)", re.compile(r"cpy|cont|dup|concat|memmove|memcpy|get_rows|upscale")),
    ("graph build / allocation", re.compile(r"gallocr|ggml_new_tensor|ggml_graph|hash|build_graph|visit_parents")),
    ("threading / barriers", re.compile(r"barrier|omp|gomp|sched_yield|futex|spin")),
    ("kernel (page faults, I/O)", re.compile(r"^\[k\]|page|copy_to_iter|clear_page")),
)

PHASES = (
    ("load", None, re.compile(r"get_learned_condition|clip compute buffer")),
    ("text encoder", None, re.compile(r"get_learned_condition completed")),
    ("sampling", None, re.compile(r"sampling completed")),
    ("VAE decode", None, re.compile(r"decode_first_stage completed")),
)


def phase_bounds(log_text: str) -> list[tuple[str, float]]:
    """[(phase name, end in ms since start)], in order."""
    ends: list[tuple[str, float]] = []
    first_clip = None
    for line in log_text.splitlines():
        match = re.match(r"\s*([0-9.]+) \d ", line)
        if not match:
            continue
        stamp = float(match.group(1))
        if first_clip is None and "clip compute buffer" in line:
            first_clip = stamp
            ends.append(("load", stamp))
        elif "get_learned_condition completed" in line:
            ends.append(("text encoder", stamp))
        elif "sampling completed" in line:
            ends.append(("sampling", stamp))
        elif "decode_first_stage completed" in line:
            ends.append(("VAE decode", stamp))
    return ends


def categorise(symbol: str) -> str:
    for name, pattern in CATEGORIES:
        if pattern.search(symbol):
            return name
    return "other"


def analyse(data: Path, log: Path) -> dict[str, dict[str, float]]:
    """{phase: {category: share of that phase's samples}} plus a 'samples' count per phase."""
    script = subprocess.run(["perf", "script", "-i", str(data), "-F", "time,ip,sym"], check=True,
                            capture_output=True, text=True).stdout
    bounds = phase_bounds(log.read_text(errors="replace"))
    counts: dict[str, Counter[str]] = {name: Counter() for name, _ in bounds}
    start: Optional[float] = None
    for line in script.splitlines():
        match = re.match(r"\s*([0-9.]+):\s+[0-9a-f]+\s*(.*)", line)
        if not match:
            continue
        stamp = float(match.group(1)) * 1000.0
        start = stamp if start is None else start
        elapsed = stamp - start
        phase = next((name for name, end in bounds if elapsed <= end), None)
        if phase is not None:
            symbol = match.group(2).strip() or "[unknown]"
            counts[phase][categorise(symbol)] += 1
    result: dict[str, dict[str, float]] = {}
    for phase, counter in counts.items():
        total = sum(counter.values())
        result[phase] = {"samples": float(total), **{name: n / total for name, n in counter.most_common()}} if total else {}
    return result


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data", type=Path)
    parser.add_argument("log", type=Path)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    result = analyse(args.data, args.log)
    for phase, shares in result.items():
        print(f"{phase}: {int(shares.get('samples', 0))} samples")
        for name, share in shares.items():
            if name != "samples" and share >= 0.01:
                print(f"    {share:6.1%}  {name}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
