#!/usr/bin/env python3
"""Long-run memory check: many generations on one Context, and many Contexts opened and closed.

    python scripts/soak.py                       # 200 generations, 50 open/close cycles
    python scripts/soak.py --generations 30 --cycles 10 --threads 1

Phase 1 runs consecutive generations on one Context, alternating 64x64 and 128x128 and turning
DeepCache on for every other pair, and samples the process's resident set size (RSS) after
each. Phase 2 closes that Context and compares RSS with the figure before it was loaded.
Phase 3 opens and closes Contexts in a loop and samples RSS after each close. Prints the
figures as JSON; exits 1 when a bound is broken (growth over the last half of phase 1 >= 2%,
memory not given back on close, or growth across the open/close cycles).
"""
from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from pathlib import Path
from typing import Any, Optional, Sequence

MIB = 1024 * 1024


def rss_bytes() -> int:
    """Resident set size of this process, from /proc/self/status."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("VmRSS not found in /proc/self/status")


def generation_settings(index: int, sizes: Sequence[int] = (64, 128)) -> dict[str, Any]:
    """The settings of generation ``index``: ``sizes`` alternate, DeepCache on for every other pair."""
    import sdcpp

    size = sizes[index % len(sizes)]
    settings: dict[str, Any] = {"width": size, "height": size, "steps": 2, "cfg_scale": 7.0, "seed": index}
    if index % 4 >= 2:
        settings["deepcache"] = sdcpp.DeepCache(interval=2, depth=0)
    return settings


def run_generations(context: Any, count: int, sizes: Sequence[int] = (64, 128)) -> list[int]:
    """Run ``count`` generations on ``context``; the RSS after each one."""
    samples = []
    for index in range(count):
        image = context.txt2img("a lighthouse at dusk", **generation_settings(index, sizes))
        assert image.shape[2] == 3
        del image
        samples.append(rss_bytes())
    return samples


def growth(samples: Sequence[int], window: int) -> dict[str, float]:
    """RSS growth over the last ``window`` samples: end vs start, and peak vs start, in percent."""
    part = list(samples[-window:])
    start = part[0]
    return {
        "window": len(part),
        "start_mib": round(start / MIB, 1),
        "end_mib": round(part[-1] / MIB, 1),
        "end_growth_percent": round(100.0 * (part[-1] - start) / start, 3),
        "peak_growth_percent": round(100.0 * (max(part) - start) / start, 3),
    }


def open_close(model: Path, cycles: int, threads: int) -> list[int]:
    """Open and close a Context ``cycles`` times; the RSS after each close."""
    import sdcpp

    samples = []
    for _ in range(cycles):
        with sdcpp.Context(model, threads=threads):
            pass
        gc.collect()
        samples.append(rss_bytes())
    return samples


def soak(model: Path, generations: int, cycles: int, threads: int) -> dict[str, Any]:
    """All three phases; returns the figures and whether each bound held."""
    import sdcpp

    gc.collect()
    before_load = rss_bytes()
    started = time.monotonic()
    context = sdcpp.Context(model, threads=threads)
    loaded = rss_bytes()
    samples = run_generations(context, generations)
    generation_seconds = time.monotonic() - started
    context.close()
    del context
    gc.collect()
    after_close = rss_bytes()
    cycle_samples = open_close(model, cycles, threads) if cycles else []

    window = max(2, generations // 2)
    gen_growth = growth(samples, window)
    model_mib = (loaded - before_load) / MIB
    kept_mib = (after_close - before_load) / MIB
    result: dict[str, Any] = {
        "model": str(model),
        "threads": threads,
        "generations": generations,
        "generation_seconds": round(generation_seconds, 1),
        "rss_before_load_mib": round(before_load / MIB, 1),
        "rss_after_load_mib": round(loaded / MIB, 1),
        "rss_after_first_generation_mib": round(samples[0] / MIB, 1) if samples else None,
        "rss_after_last_generation_mib": round(samples[-1] / MIB, 1) if samples else None,
        "growth_last_window": gen_growth,
        "rss_after_close_mib": round(after_close / MIB, 1),
        "kept_after_close_mib": round(kept_mib, 1),
        "model_rss_mib": round(model_mib, 1),
        "checks": {
            "growth_below_2_percent": gen_growth["end_growth_percent"] < 2.0,
            "close_returns_memory": kept_mib < 0.1 * model_mib,
        },
    }
    if cycle_samples:
        first = cycle_samples[min(2, len(cycle_samples) - 1)]  # after allocator warm-up
        result["open_close"] = {
            "cycles": cycles,
            "rss_after_each_close_mib": [round(s / MIB, 1) for s in cycle_samples],
            "growth_after_cycle_3_mib": round((cycle_samples[-1] - first) / MIB, 1),
            "max_after_cycle_3_mib": round(max(cycle_samples[min(2, len(cycle_samples) - 1):]) / MIB, 1),
        }
        settled = cycle_samples[min(2, len(cycle_samples) - 1):]
        result["checks"]["open_close_no_growth"] = (max(settled) - first) < 0.05 * model_mib
    return result


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, help="model file (default: the synthetic SD1.x q8_0 model)")
    parser.add_argument("--generations", type=int, default=200)
    parser.add_argument("--cycles", type=int, default=50, help="Contexts to open and close")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--cache-dir", type=Path, default=Path(".cache"))
    args = parser.parse_args(argv)
    model = args.model
    if model is None:
        from sdcpp.testing import ensure_synthetic_model

        model = ensure_synthetic_model("sd15", "q8_0", cache_dir=args.cache_dir)
    result = soak(model, args.generations, args.cycles, args.threads)
    print(json.dumps(result, indent=2))
    return 0 if all(result["checks"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
