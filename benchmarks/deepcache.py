"""DeepCache speed and fidelity on the synthetic SD1.x model, as ratios against a no-cache
baseline measured in the same run (DESIGN.md section 5). The first benchmark of the project, kept
for benchmarks/results/deepcache-256.json; ``python -m benchmarks.run`` supersedes it (interleaved
baselines, SSIM, peak RSS, per-step times, binding and thread sections).

    python -m benchmarks.deepcache                 # 256x256 and 512x512, 20 steps, euler, cfg 7
    python -m benchmarks.deepcache --sizes 256 --repeats 1 --json out.json

For each interval N in {2, 3, 5} and depth d in {0, 1, 2}: sampling-time speed-up (the engine's own
sampling timer), end-to-end speed-up, the theoretical S(N, f) with f from a FLOP count of the shallow
path (benchmarks/flops.py), measured/theoretical, and PSNR against the no-cache image. Upstream's
ucache and spectrum are measured on the same model and settings for comparison.
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import sdcpp
from sdcpp.testing import ensure_synthetic_model

from .common import median_timing, psnr
from .flops import shallow_fraction, theoretical_speedup


def run(sizes: list[int], steps: int, intervals: list[int], depths: list[int], repeats: int,
        quant: str, threads: int, method: str, cfg_scale: float) -> list[dict[str, Any]]:
    model = ensure_synthetic_model("sd15", quant)
    rows: list[dict[str, Any]] = []
    with sdcpp.Context(model, threads=threads) as context:
        for size in sizes:
            common = dict(prompt="a photograph of an astronaut riding a horse", width=size, height=size,
                          steps=steps, cfg_scale=cfg_scale, seed=42, sampling_method=method)
            context.generate(**{**common, "steps": 1})  # warm-up: allocators, caches, page-in
            base, base_spread = median_timing(context, repeats, **common)
            print(f"\n{size}x{size}, {steps} steps {method}, cfg {cfg_scale}, {quant}: "
                  f"baseline sampling {base.sampling_s:.2f}s, total {base.total_s:.2f}s "
                  f"(spread {base_spread:.0%})", flush=True)
            print(f"{'setting':<18}{'sampling x':>11}{'total x':>9}{'S(N,f)':>8}{'meas/theo':>10}"
                  f"{'f':>7}{'PSNR dB':>9}{'full/reused':>13}")
            variants: list[tuple[str, dict[str, Any], float]] = []
            for interval in intervals:
                for depth in depths:
                    fraction = shallow_fraction("sd15", depth, size // 8, size // 8)
                    variants.append((f"deepcache N={interval} d={depth}",
                                     {"deepcache": sdcpp.DeepCache(interval=interval, depth=depth)},
                                     fraction))
            variants += [("ucache", {"cache_mode": "ucache"}, float("nan")),
                         ("spectrum", {"cache_mode": "spectrum"}, float("nan"))]
            for label, extra, fraction in variants:
                timing, spread = median_timing(context, repeats, **common, **extra)
                speedup = base.sampling_s / timing.sampling_s
                total_speedup = base.total_s / timing.total_s
                interval = extra["deepcache"].interval if "deepcache" in extra else None
                theory = theoretical_speedup(interval, fraction) if interval else float("nan")
                quality = psnr(base.image, timing.image)
                row = {"size": size, "steps": steps, "method": method, "cfg_scale": cfg_scale, "quant": quant,
                       "setting": label, "sampling_speedup": speedup, "total_speedup": total_speedup,
                       "theoretical_speedup": theory, "measured_over_theoretical": speedup / theory,
                       "shallow_fraction": fraction, "psnr_db": quality, "spread": spread,
                       "baseline_sampling_s": base.sampling_s, "sampling_s": timing.sampling_s,
                       "full_evaluations": timing.stats.full_evaluations,
                       "reused_evaluations": timing.stats.reused_evaluations}
                rows.append(row)
                print(f"{label:<18}{speedup:>10.2f}x{total_speedup:>8.2f}x{theory:>8.2f}"
                      f"{speedup / theory:>10.0%}{fraction:>7.3f}{quality:>9.1f}"
                      f"{timing.stats.full_evaluations:>7}/{timing.stats.reused_evaluations:<5}", flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--intervals", type=int, nargs="+", default=[2, 3, 5])
    parser.add_argument("--depths", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--quant", default="q8_0")
    parser.add_argument("--threads", type=int, default=-1)
    parser.add_argument("--sampling-method", default="euler")
    parser.add_argument("--cfg-scale", type=float, default=7.0)
    parser.add_argument("--json", help="also write the rows as JSON here")
    args = parser.parse_args(argv)
    rows = run(args.sizes, args.steps, args.intervals, args.depths, args.repeats, args.quant,
               args.threads, args.sampling_method, args.cfg_scale)
    if args.json:
        with open(args.json, "w") as stream:
            json.dump(rows, stream, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
