"""Matrix-product kernels on this CPU, at the shapes of SD1.x's U-Net, as ratios measured in one run.

    python -m benchmarks.kernels                 # writes benchmarks/results/kernels.json and .md
    python -m benchmarks.kernels --seconds 0.2 --out-dir /tmp/k

Runs the C++ benchmark benchmarks/cpp/bench_mul_mat (built with the C++ tests:
``-Ccmake.define.SDCPP_BUILD_TESTS=ON``, which ``make install`` and .ci/run do). For each shape
(3x3 convs as im2col products, an attention projection, a feed-forward layer at 256x256) and each
weight type and layout (f32, f16, bf16, q8_0 and q4_0 in ggml's plain buffer and in its CPU_REPACK
buffer), it times ggml_mul_mat(weight, f32 activations) on the CPU backend and prints GFLOP/s and
the output's relative RMS difference from the f32 product's. This script gives every figure as a
ratio to the f32 product of the same shape, measured in the same run, and marks whether ggml gave
the weight a repacked layout (patches 0006/0008: q4_0 everywhere with AVX2, q8_0 and q4_0 16x4
with AVX512-VNNI).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Optional, Sequence

REPO = Path(__file__).resolve().parent.parent
RESULTS_DIR = REPO / "benchmarks" / "results"
SCHEMA = "sdcpp-kernels/1"


def benchmark_binary() -> Path:
    """The newest build of benchmarks/cpp/bench_mul_mat under build/."""
    candidates = sorted(REPO.glob("build/*/benchmarks/cpp/bench_mul_mat"), key=lambda p: p.stat().st_mtime)
    if not candidates:
        raise FileNotFoundError("benchmarks/cpp/bench_mul_mat is not built: build with "
                                "-Ccmake.define.SDCPP_BUILD_TESTS=ON (make install does)")
    return candidates[-1]


def run_benchmark(binary: Path, seconds: float, threads: int, quick: bool = False) -> list[dict[str, Any]]:
    """The binary's rows (one JSON object per line)."""
    command = [str(binary), "--seconds", str(seconds), "--threads", str(threads)] + (["--quick"] if quick else [])
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def with_ratios(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Adds ``vs_f32`` (GFLOP/s over the f32 product's of the same shape) to every measured row."""
    f32 = {(row["m"], row["k"], row["n"]): row["gflops"] for row in rows if row.get("variant") == "f32" and "gflops" in row}
    out = []
    for row in rows:
        row = dict(row)
        base = f32.get((row["m"], row["k"], row["n"]))
        if "gflops" in row and base:
            row["vs_f32"] = row["gflops"] / base
        out.append(row)
    return out


def markdown(document: dict[str, Any]) -> str:
    rows = document["rows"]
    variants = list(dict.fromkeys(row["variant"] for row in rows))
    lines = ["## Matrix-product kernels", "",
             f"Measured {document['created']} on {document['machine']['cpu']} ({document['machine']['cpu_features']}), "
             f"{document['threads']} threads, {document['seconds']} s per product; GFLOP/s of "
             "ggml_mul_mat(weight, f32 activations), and its ratio to f32 of the same shape in the same run; "
             "R = ggml gave the weight a repacked layout. "
             f"Load average {document['load_average']}; `{' '.join(document['argv'])}`.", "",
             "| product (m x k, n columns) | " + " | ".join(variants) + " |",
             "|---|" + "---|" * len(variants)]
    shapes = list(dict.fromkeys((row["m"], row["k"], row["n"]) for row in rows))
    for shape in shapes:
        cells = []
        what = ""
        for variant in variants:
            row = next((r for r in rows if (r["m"], r["k"], r["n"]) == shape and r["variant"] == variant), None)
            if row is None or "gflops" not in row:
                cells.append("-")
                continue
            what = row.get("what", what)
            cell = f"{row['gflops']:.0f} ({row.get('vs_f32', float('nan')):.2f}x)"
            cells.append(cell + (" R" if row.get("repacked") else ""))
        lines.append(f"| {what}: {shape[0]} x {shape[1]}, {shape[2]} | " + " | ".join(cells) + " |")
    errors = {variant: [r["rel_rms_vs_f32"] for r in rows if r["variant"] == variant and "rel_rms_vs_f32" in r]
              for variant in variants if variant != "f32"}
    lines += ["", "Relative RMS difference from the f32 product: " + ", ".join(
        f"{variant} {max(values):.1e}" for variant, values in errors.items() if values) + " (largest over the shapes)."]
    missing = [variant for variant, values in errors.items() if not values]
    if missing:
        lines.append("Not measured (no repacked kernel for the type on this CPU): " + ", ".join(missing) + ".")
    return "\n".join(lines) + "\n"


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=2.0, help="time per product and variant")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="one small shape (what the tests run)")
    parser.add_argument("--out-dir", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)

    from .results import clean, machine

    rows = with_ratios(run_benchmark(benchmark_binary(), args.seconds, args.threads, args.quick))
    info = machine()
    info["cpu_features"] = info.get("build", {}).get("cpu_features", "")
    document = {"schema": SCHEMA, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "argv": ["python", "-m", "benchmarks.kernels", *(argv if argv is not None else sys.argv[1:])],
                "machine": info, "threads": args.threads, "seconds": args.seconds,
                "load_average": [round(value, 2) for value in os.getloadavg()], "rows": rows}
    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / "kernels.json").write_text(json.dumps(clean(document), indent=1))
    (args.out_dir / "kernels.md").write_text(markdown(document))
    print(markdown(document))
    return 0


if __name__ == "__main__":
    sys.exit(main())
