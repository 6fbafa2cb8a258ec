"""Throughput of examples/ray_batch.py with 1 and 2 Ray workers on this machine, in one run.

    python -m benchmarks.ray_scaling [--prompts 8] [--size 64] [--steps 2]

Each configuration runs the recipe as its own process (a fresh local Ray cluster, the same
prompts, a fresh output directory) on the synthetic SD1.x q8_0 model:

- 1 worker x 1 thread  (the baseline)
- 2 workers x 1 thread (scaling out: ideal 2x with 2 free cores)
- 1 worker x 2 threads (the same 2 CPUs spent on engine threads instead of workers)
- 1 worker x 1 thread again: ratios are taken against the mean of the two baseline runs, and
  their ratio (``baseline_drift``) says how much the machine's load changed during the run

Images per minute are counted over the generation phase (first line started to last line
finished, from the manifest's ``started_at`` and ``seconds``), so Ray's start and the model loads
are left out; the process's wall time, which includes them, is reported too. Results go to
benchmarks/results/ray-scaling.json; the ratios against the baseline are the figures to quote.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Optional, Sequence

from .results import cpu_model

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "ray_batch.py"
RESULTS = REPO / "benchmarks" / "results" / "ray-scaling.json"
# (workers, threads per worker); the baseline runs again last, to show how much the machine drifted.
CONFIGURATIONS = ((1, 1), (2, 1), (1, 2), (1, 1))
SUBJECTS = ("a lighthouse at dusk", "a red fox in the snow", "a bowl of cherries", "a city street at night",
            "a mountain lake", "a sailing boat", "a cup of coffee", "an old library")




def write_prompts(path: Path, count: int) -> None:
    """``count`` prompt lines with distinct seeds."""
    lines = [json.dumps({"prompt": SUBJECTS[index % len(SUBJECTS)], "seed": 100 + index}) for index in range(count)]
    path.write_text("\n".join(lines) + "\n")


def run_configuration(model: Path, prompts: Path, output: Path, workers: int, threads: int, size: int,
                      steps: int) -> dict[str, Any]:
    """Run the recipe once; images per minute over the generation phase and over the whole run."""
    command = [sys.executable, os.fspath(EXAMPLE), "--model", os.fspath(model), "--prompts", os.fspath(prompts),
               "--output", os.fspath(output), "--workers", str(workers), "--threads-per-worker", str(threads),
               "--width", str(size), "--height", str(size), "--steps", str(steps)]
    load_before = os.getloadavg()
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, timeout=1800)
    wall = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"ray_batch.py failed ({result.returncode}):\n{result.stderr[-4000:]}")
    records = [json.loads(line) for line in (output / "manifest.jsonl").read_text().splitlines()]
    generated = [record for record in records if record["status"] == "generated"]
    if len(generated) != len(records):
        raise RuntimeError(f"expected every line generated, got {[record['status'] for record in records]}")
    first_start = min(record["started_at"] for record in generated)
    last_end = max(record["started_at"] + record["seconds"] for record in generated)
    phase = last_end - first_start
    return {"workers": workers, "threads_per_worker": threads, "images": len(generated),
            "generation_phase_s": round(phase, 3), "process_wall_s": round(wall, 3),
            "images_per_minute": round(60.0 * len(generated) / phase, 3),
            "images_per_minute_with_startup": round(60.0 * len(generated) / wall, 3),
            "median_image_s": round(sorted(record["seconds"] for record in generated)[len(generated) // 2], 3),
            "distinct_workers": len({record["worker"] for record in generated}),
            "worker_peak_rss_mb": max(record.get("worker_peak_rss_mb") or 0.0 for record in generated),
            "load_average_before": [round(value, 2) for value in load_before],
            "load_average_after": [round(value, 2) for value in os.getloadavg()]}


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the configurations, print the ratios, write benchmarks/results/ray-scaling.json."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prompts", type=int, default=8, help="prompt lines per configuration (default 8)")
    parser.add_argument("--size", type=int, default=64, help="image side in pixels (default 64)")
    parser.add_argument("--steps", type=int, default=2, help="sampling steps (default 2)")
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"results file (default {RESULTS})")
    args = parser.parse_args(argv)

    from sdcpp.testing import ensure_synthetic_model

    model = ensure_synthetic_model("sd15", "q8_0", cache_dir=Path(os.environ.get("SDCPP_CACHE_DIR",
                                                                                  REPO / ".cache")))
    runs = []
    with tempfile.TemporaryDirectory(prefix="ray-scaling-") as scratch:
        prompts = Path(scratch) / "prompts.jsonl"
        write_prompts(prompts, args.prompts)
        for index, (workers, threads) in enumerate(CONFIGURATIONS):
            output = Path(scratch) / f"out-{index}-{workers}x{threads}"  # fresh: nothing to skip
            run = run_configuration(model, prompts, output, workers, threads, args.size, args.steps)
            runs.append(run)
            print(f"[ray] {workers} worker(s) x {threads} thread(s): {run['images_per_minute']:.2f} images/min "
                  f"(generation phase {run['generation_phase_s']:.1f} s; with Ray start and model load "
                  f"{run['images_per_minute_with_startup']:.2f}/min); load {run['load_average_before'][0]:.1f}",
                  flush=True)
    baselines = [run for run in runs if (run["workers"], run["threads_per_worker"]) == (1, 1)]
    generation = sum(run["images_per_minute"] for run in baselines) / len(baselines)
    with_startup = sum(run["images_per_minute_with_startup"] for run in baselines) / len(baselines)
    for run in runs:
        run["speedup_vs_1x1"] = round(run["images_per_minute"] / generation, 3)
        run["speedup_with_startup_vs_1x1"] = round(run["images_per_minute_with_startup"] / with_startup, 3)
    report = {"benchmark": "ray_scaling", "model": model.name, "size": args.size, "steps": args.steps,
              "prompts": args.prompts, "cpu": cpu_model(), "cpus": os.cpu_count(),
              "ray": _ray_version(), "runs": runs,
              "baseline_drift": round(baselines[-1]["images_per_minute"] / baselines[0]["images_per_minute"], 3)}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    for run in runs:
        print(f"[ray] {run['workers']}x{run['threads_per_worker']}: {run['speedup_vs_1x1']:.2f}x images/min vs 1x1 "
              f"({run['speedup_with_startup_vs_1x1']:.2f}x with startup)")
    print(markdown(report))
    print(f"wrote {args.output}")
    return 0


def markdown(report: dict[str, Any]) -> str:
    """The results as a Markdown table (what docs/scale-out.md quotes)."""
    lines = [f"{report['prompts']} prompts, {report['size']}x{report['size']}, {report['steps']} steps, "
             f"{report['model']}, Ray {report['ray']}, {report['cpu']} ({report['cpus']} logical CPUs)"
             + (f"; baseline drift {report['baseline_drift']:.2f}x (second 1x1 run / first)"
                if "baseline_drift" in report else ""), "",
             "| workers x threads | images/min (generation) | vs 1x1 | images/min (with Ray start + load) | vs 1x1 "
             "| median s/image | load average |",
             "|---|---|---|---|---|---|---|"]
    for run in report["runs"]:
        lines.append(f"| {run['workers']} x {run['threads_per_worker']} | {run['images_per_minute']:.1f} | "
                     f"{run['speedup_vs_1x1']:.2f}x | {run['images_per_minute_with_startup']:.1f} | "
                     f"{run['speedup_with_startup_vs_1x1']:.2f}x | {run['median_image_s']:.2f} | "
                     f"{run['load_average_before'][0]:.1f} |")
    return "\n".join(lines)


def _ray_version() -> str:
    import ray

    return str(ray.__version__)


if __name__ == "__main__":
    sys.exit(main())
