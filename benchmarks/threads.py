"""Thread scaling: the same generation with 1 and with 2 engine threads, alternated (ABAB) in one
process, each thread count with its own loaded Context."""
from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any, Sequence

import sdcpp

from .measure import measure


def measure_threads(model: Path, counts: Sequence[int] = (1, 2), size: int = 128, steps: int = 4,
                    cfg_scale: float = 7.0, method: str = "euler", rounds: int = 2) -> dict[str, Any]:
    """Sampling and wall time per thread count; speed-up and parallel efficiency against the first."""
    options: dict[str, Any] = {"prompt": "a photograph of an astronaut riding a horse", "width": size, "height": size,
               "steps": steps, "cfg_scale": cfg_scale, "seed": 42, "sampling_method": method}
    contexts = {count: sdcpp.Context(model, threads=count) for count in counts}
    runs: list[dict[str, Any]] = []
    try:
        for context in contexts.values():
            context.generate(**{**options, "steps": 1})
        for round_index in range(rounds):
            order = list(counts) if round_index % 2 == 0 else list(reversed(counts))
            for count in order:
                run = measure(contexts[count], f"threads={count}", **options)
                record = run.record()
                record["threads"] = count
                runs.append(record)
                print(f"[threads] {count} sampling {run.sampling_s:6.2f}s wall {run.wall_s:6.2f}s "
                      f"load {run.load_before[:1]}", flush=True)
    finally:
        for context in contexts.values():
            context.close()
    sampling = {count: statistics.median(r["sampling_s"] for r in runs if r["threads"] == count) for count in counts}
    wall = {count: statistics.median(r["wall_s"] for r in runs if r["threads"] == count) for count in counts}
    first = counts[0]
    return {"model": str(model), "size": size, "steps": steps, "cfg_scale": cfg_scale, "method": method,
            "runs": runs,
            "summary": [{"threads": count, "sampling_s": sampling[count], "wall_s": wall[count],
                         "sampling_speedup": sampling[first] / sampling[count],
                         "wall_speedup": wall[first] / wall[count],
                         "efficiency": sampling[first] / sampling[count] / (count / first)} for count in counts]}
