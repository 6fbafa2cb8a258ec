"""Does flash attention change DeepCache's balance? Full and shallow U-Net steps with the engine's
plain attention (``Context(diffusion_flash_attn=False)``, ``--no-diffusion-fa``) and with flash
attention (``diffusion_flash_attn=True``, sd-cli ``--diffusion-fa``; the default on CPU builds since
patches 0010-0012), in one process, alternated A B B A.

    python -m benchmarks.attention --size 512 --steps 4

Each run is one DeepCache window of ``steps`` evaluations at depth 0 (cfg 1): step 0 is a full
U-Net call, the rest are shallow calls, so one run gives both step times. Writes
benchmarks/results/attention-SIZE.json and prints its Markdown table (benchmarks.tables).
"""
from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path
from typing import Any, Optional, Sequence

import sdcpp
from sdcpp.testing import ensure_synthetic_model

from .flops import shallow_fraction
from .grid import DEFAULT_PROMPT
from .groups import DEFAULT_CACHE_DIR
from .measure import measure
from .quality import psnr
from .results import RESULTS_DIR, ResultsDocument
from .tables import document_markdown

def measure_attention(model: Path, size: int, steps: int, depth: int, threads: int, rounds: int) -> dict[str, Any]:
    """Per-step times, stage times and peak RSS with and without flash attention."""
    options: dict[str, Any] = {"prompt": DEFAULT_PROMPT, "width": size, "height": size, "steps": steps, "cfg_scale": 1.0,
                               "seed": 42, "sampling_method": "euler",
                               "deepcache": sdcpp.DeepCache(interval=steps, depth=depth)}
    contexts = {flash: sdcpp.Context(model, threads=threads, diffusion_flash_attn=flash) for flash in (False, True)}
    runs: list[dict[str, Any]] = []
    images: dict[bool, Any] = {}
    try:
        for context in contexts.values():  # warm-up: page the weights in, plan the allocators once
            context.generate(**{**options, "width": 64, "height": 64, "steps": 2})
        for round_index in range(rounds):
            order = [False, True] if round_index % 2 == 0 else [True, False]
            for flash in order:
                run = measure(contexts[flash], f"flash_attn={flash}", **options)
                images.setdefault(flash, run.image)
                record = run.record()
                record["flash_attn"] = flash
                runs.append(record)
                print(f"[attention] flash={flash!s:<5} full step {run.step_s[0]:6.2f}s shallow "
                      f"{statistics.median(run.step_s[1:]):6.2f}s decode {run.stages.get('decode_s', 0):6.2f}s "
                      f"peak {run.peak_rss_mib or 0:6.0f} MiB load {run.load_before[:1]}", flush=True)
    finally:
        for context in contexts.values():
            context.close()
    summary = []
    for flash in (False, True):
        mine = [run for run in runs if run["flash_attn"] == flash]
        full = statistics.median(run["step_s"][0] for run in mine)
        shallow = statistics.median(seconds for run in mine for seconds in run["step_s"][1:])
        summary.append({"flash_attn": flash, "full_step_s": full, "shallow_step_s": shallow,
                        "f_effective": shallow / full,
                        "decode_s": statistics.median(run["stages"].get("decode_s", float("nan")) for run in mine),
                        "peak_rss_mib": max(run["peak_rss_mib"] or 0 for run in mine)})
    latent = size // 8
    return {"size": size, "steps": steps, "depth": depth, "threads": threads, "cfg_scale": 1.0,
            "f_flops": shallow_fraction("sd15", depth, latent, latent), "runs": runs, "summary": summary,
            "psnr_flash_vs_default_db": psnr(images[False], images[True])}


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--steps", type=int, default=4, help="evaluations per run: 1 full, steps-1 shallow")
    parser.add_argument("--depth", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2, help="A B, then B A, ...")
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE_DIR)
    parser.add_argument("--out", type=Path, help="default: benchmarks/results/attention-SIZE.json")
    args = parser.parse_args(argv)
    if args.steps < 2:
        parser.error("--steps must be at least 2 (one full and one shallow step)")
    model = ensure_synthetic_model("sd15", "q8_0", cache_dir=args.cache_dir)
    out = args.out or RESULTS_DIR / f"attention-{args.size}.json"
    document = ResultsDocument(out, ["python", "-m", "benchmarks.attention",
                                     *(sys.argv[1:] if argv is None else argv)])
    document.add("attention", measure_attention(model, args.size, args.steps, args.depth, args.threads, args.rounds))
    print(document_markdown(document.data, out.stem))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
