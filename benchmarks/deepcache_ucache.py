"""DeepCache stacked with upstream's ucache (issue 14, part 2), on the synthetic SD1.x model: does the
combination beat either cache alone in speed at the same PSNR against the uncached image?

    python -m benchmarks.deepcache_ucache                       # 128x128, 12 steps euler, cfg 7
    python -m benchmarks.deepcache_ucache --size 64 --steps 8 --json out.json

Every setting runs in the same process as the no-cache baseline and is reported as a ratio of the
engine's own sampling time (and of end-to-end time), with PSNR against the baseline image and the
engine's counts: full and shallow (DeepCache-reused) evaluations, and evaluations ucache skipped
(the rest of the run's evaluations). The baseline is measured before and after the settings; the
spread of the two says how much the shared machine moved the figures during the run.
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Optional

import sdcpp
from sdcpp.cache import model_evaluations
from sdcpp.testing import ensure_synthetic_model

from .common import median_timing
from .quality import psnr
from .results import cpu_model

# (label, ucache threshold or None, DeepCache or None)
SETTINGS: list[tuple[str, Optional[float], Optional[sdcpp.DeepCache]]] = [
    ("ucache t=1.0 (default)", 1.0, None),
    ("ucache t=2.0", 2.0, None),
    ("deepcache N=2 d=1", None, sdcpp.DeepCache(interval=2, depth=1)),
    ("deepcache N=3 d=1", None, sdcpp.DeepCache(interval=3, depth=1)),
    ("deepcache N=3 d=0", None, sdcpp.DeepCache(interval=3, depth=0)),
    ("ucache t=1.0 + deepcache N=2 d=1", 1.0, sdcpp.DeepCache(interval=2, depth=1)),
    ("ucache t=1.0 + deepcache N=3 d=1", 1.0, sdcpp.DeepCache(interval=3, depth=1)),
    ("ucache t=1.0 + deepcache N=3 d=0", 1.0, sdcpp.DeepCache(interval=3, depth=0)),
]


def options_for(threshold: Optional[float], deepcache: Optional[sdcpp.DeepCache]) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if threshold is not None:
        options["cache_mode"] = "ucache"
        options["cache_options"] = f"threshold={threshold}"
    if deepcache is not None:
        options["deepcache"] = deepcache
    return options


def run(size: int, steps: int, repeats: int, quant: str, threads: int, method: str,
        cfg_scale: float) -> dict[str, Any]:
    model = ensure_synthetic_model("sd15", quant)
    evaluations = model_evaluations(method, steps)
    common: dict[str, Any] = dict(prompt="a photograph of an astronaut riding a horse", width=size, height=size,
                                  steps=steps, cfg_scale=cfg_scale, seed=42, sampling_method=method)
    rows: list[dict[str, Any]] = []
    with sdcpp.Context(model, threads=threads) as context:
        context.generate(**{**common, "steps": 1})  # warm-up: allocators, caches, page-in
        before, _ = median_timing(context, repeats, **common)
        for label, threshold, deepcache in SETTINGS:
            timing, spread = median_timing(context, repeats, **common, **options_for(threshold, deepcache))
            stats = timing.stats
            computed = stats.full_evaluations + stats.reused_evaluations if deepcache else None
            rows.append({"setting": label, "sampling_speedup": before.sampling_s / timing.sampling_s,
                         "total_speedup": before.total_s / timing.total_s, "psnr_db": psnr(before.image, timing.image),
                         "full": stats.full_evaluations if deepcache else None,
                         "shallow": stats.reused_evaluations if deepcache else None,
                         "skipped_by_ucache": evaluations - computed if computed is not None else None,
                         "sampling_s": timing.sampling_s, "spread": spread})
        after, _ = median_timing(context, repeats, **common)
    drift = abs(after.sampling_s - before.sampling_s) / before.sampling_s
    return {"benchmark": "deepcache_ucache", "cpu": cpu_model(), "size": size, "steps": steps, "method": method, "cfg_scale": cfg_scale,
            "quant": quant, "threads": threads, "repeats": repeats, "evaluations": evaluations,
            "baseline_sampling_s": before.sampling_s, "baseline_after_sampling_s": after.sampling_s,
            "baseline_drift": drift, "rows": rows}


def markdown(report: dict[str, Any]) -> str:
    lines = [f"{report['size']}x{report['size']}, {report['steps']} steps {report['method']}, cfg "
             f"{report['cfg_scale']}, sd15 {report['quant']} (synthetic), {report['threads']} threads, "
             f"{report['cpu']}; baseline sampling {report['baseline_sampling_s']:.2f}s before and "
             f"{report['baseline_after_sampling_s']:.2f}s after the settings (drift {report['baseline_drift']:.0%}).",
             "",
             "| setting | sampling x | end-to-end x | PSNR dB | full / shallow / skipped evaluations |",
             "|---|---|---|---|---|"]
    for row in report["rows"]:
        counts = ("-" if row["full"] is None else
                  f"{row['full']} / {row['shallow']} / {row['skipped_by_ucache']}")
        lines.append(f"| {row['setting']} | {row['sampling_speedup']:.2f}x | {row['total_speedup']:.2f}x | "
                     f"{row['psnr_db']:.1f} | {counts} |")
    return "\n".join(lines)


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--quant", default="q8_0")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--method", default="euler")
    parser.add_argument("--cfg-scale", type=float, default=7.0)
    parser.add_argument("--json", default=None, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    report = run(args.size, args.steps, args.repeats, args.quant, args.threads, args.method, args.cfg_scale)
    print(markdown(report))
    if args.json:
        with open(args.json, "w") as out:
            json.dump(report, out, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
