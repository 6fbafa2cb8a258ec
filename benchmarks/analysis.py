"""From the raw runs of a group to one summary row per variant (speed-ups, theory, fidelity,
memory, and where the time of a cached step goes)."""
from __future__ import annotations

import math
import statistics
from typing import Any, Optional, Sequence

import numpy as np

from .flops import shallow_fraction, theoretical_speedup
from .grid import Group, Variant
from .measure import Run
from .quality import psnr, ssim

ONE_EVALUATION_METHODS = frozenset({"euler", "euler_a", "dpm++2m", "dpm++2mv2", "ddim_trailing", "lcm",
                                    "ipndm", "ipndm_v", "tcd"})


def _median(values: Sequence[float]) -> float:
    finite = [value for value in values if value is not None and math.isfinite(value)]
    return statistics.median(finite) if finite else float("nan")


def _spread(values: Sequence[float]) -> float:
    """(max - min) / median: how noisy repeated measurements of the same thing were."""
    finite = [value for value in values if math.isfinite(value)]
    if len(finite) < 2:
        return 0.0
    return (max(finite) - min(finite)) / statistics.median(finite)


def bracketing_baselines(order: Sequence[tuple[Variant, Run]], index: int) -> list[Run]:
    """The nearest baseline run before and the nearest after position ``index``."""
    before = next((run for variant, run in reversed(order[:index]) if variant.family == "baseline"), None)
    after = next((run for variant, run in order[index + 1:] if variant.family == "baseline"), None)
    return [run for run in (before, after) if run is not None]


def step_analysis(group: Group, variant: Variant, runs: Sequence[Run], baseline_step_s: float,
                  baseline_step_cpu_s: float = float("nan")) -> dict[str, Any]:
    """Split a DeepCache run's sampling steps into full and shallow ones (one model evaluation per
    step for euler/dpm++2m, window from evaluation 0) and compare with the baseline's step time.

    ``f_effective`` = median shallow step / median full step *of the same run* is the measured
    counterpart of the FLOP share f (full and shallow steps alternate within seconds, so machine
    drift cancels); ``f_vs_baseline`` divides by the baseline's step time instead (exposed to drift);
    ``full_step_overhead`` is how much slower a full step is than a baseline step (the in-graph copy of
    the cached tensor, plus drift); ``outside_steps_s`` is sampling time not spent in steps. With
    per-step CPU times (1 engine thread) the same split is made on CPU seconds (``*_cpu``).
    """
    if variant.family != "deepcache" or group.method not in ONE_EVALUATION_METHODS or not runs:
        return {}
    full: list[float] = []
    shallow: list[float] = []
    outside: list[float] = []
    full_cpu: list[float] = []
    shallow_cpu: list[float] = []
    for run in runs:
        for index, seconds in enumerate(run.step_s):
            (full if index % (variant.interval or 1) == 0 else shallow).append(seconds)
        for index, seconds in enumerate(run.step_cpu_s):
            (full_cpu if index % (variant.interval or 1) == 0 else shallow_cpu).append(seconds)
        outside.append(run.sampling_s - sum(run.step_s))
    full_s, shallow_s = _median(full), _median(shallow)
    cpu_fields: dict[str, Any] = {}
    if shallow_cpu and math.isfinite(baseline_step_cpu_s):
        cpu_fields = {"full_step_cpu_s": _median(full_cpu), "shallow_step_cpu_s": _median(shallow_cpu),
                      "baseline_step_cpu_s": baseline_step_cpu_s,
                      "f_effective_cpu": _median(shallow_cpu) / _median(full_cpu),
                      "speedup_from_f_effective_cpu": theoretical_speedup(
                          variant.interval or 1, _median(shallow_cpu) / _median(full_cpu))}
    return {**cpu_fields, "full_step_s": full_s, "shallow_step_s": shallow_s, "baseline_step_s": baseline_step_s,
            "f_effective": shallow_s / full_s, "f_vs_baseline": shallow_s / baseline_step_s,
            "full_step_overhead": full_s / baseline_step_s - 1.0, "outside_steps_s": _median(outside),
            "speedup_from_f_effective": theoretical_speedup(variant.interval or 1, shallow_s / full_s)}


def skipped_steps(runs: Sequence[Run]) -> Optional[int]:
    """Steps an upstream cache skipped entirely (ucache/spectrum reuse or forecast the whole model
    output: such a step takes under 2% of the run's median step time)."""
    if not runs or not runs[0].step_s:
        return None
    steps = runs[0].step_s
    typical = statistics.median(steps)
    return sum(1 for seconds in steps if seconds < 0.02 * typical)


def _schedule_theory(run: Run, fraction: Optional[float]) -> Optional[float]:
    """Speed-up the actual schedule allows: (F + R) / (F + R f) for F full and R reused evaluations
    (S(N, f) assumes the evaluation count is a multiple of N)."""
    full, reused = run.full_evaluations, run.reused_evaluations
    if fraction is None or full + reused == 0:
        return None
    return (full + reused) / (full + reused * fraction)


def _upstream_fields(variant: Variant, runs: Sequence[Run]) -> dict[str, Any]:
    """For ucache/spectrum: skipped steps and the speed-up that skipping alone allows."""
    if variant.family == "deepcache" or not runs or not runs[0].step_s:
        return {}
    skipped = skipped_steps(runs) or 0
    total = len(runs[0].step_s)
    return {"skipped_steps": skipped, "computed_steps": total - skipped,
            "structural_speedup": total / (total - skipped) if total > skipped else None}


def summarise(group: Group, order: Sequence[tuple[Variant, Run]]) -> list[dict[str, Any]]:
    """One row per variant of ``group`` from the runs in the order they were made."""
    baselines = [run for variant, run in order if variant.family == "baseline"]
    reference_image: np.ndarray = baselines[0].image
    baseline_step_s = _median([seconds for run in baselines for seconds in run.step_s])
    baseline_step_cpu_s = _median([seconds for run in baselines for seconds in run.step_cpu_s])
    baseline_identical = all(np.array_equal(reference_image, run.image) for run in baselines)
    latent = group.size // 8
    rows: list[dict[str, Any]] = []
    for variant in group.variants:
        indices = [i for i, (v, _) in enumerate(order) if v == variant]
        if not indices:
            continue
        runs = [order[i][1] for i in indices]
        sampling_ratios, wall_ratios, generate_ratios, cpu_ratios, sampling_cpu_ratios = [], [], [], [], []
        for index in indices:
            run, references = order[index][1], bracketing_baselines(order, index)
            sampling_ratios.append(statistics.fmean(r.sampling_s for r in references) / run.sampling_s)
            wall_ratios.append(statistics.fmean(r.wall_s for r in references) / run.wall_s)
            cpu_ratios.append(statistics.fmean(r.cpu_s for r in references) / run.cpu_s)
            if run.sampling_cpu_s and all(r.sampling_cpu_s for r in references):
                sampling_cpu_ratios.append(statistics.fmean(r.sampling_cpu_s or 0.0 for r in references)
                                           / run.sampling_cpu_s)
            generate_ratios.append(statistics.fmean(r.stages.get("generate_s", math.nan) for r in references)
                                   / run.stages.get("generate_s", math.nan))
        fraction: Optional[float] = None
        theory: Optional[float] = None
        if variant.family == "deepcache":
            fraction = shallow_fraction(group.kind, variant.depth or 0, latent, latent)
            theory = theoretical_speedup(variant.interval or 1, fraction)
        speedup = _median(sampling_ratios)
        peak = _median([run.peak_rss_mib for run in runs if run.peak_rss_mib is not None])
        base_peak = _median([run.peak_rss_mib for run in baselines if run.peak_rss_mib is not None])
        loads = [run.load_before[0] for run in runs if run.load_before] + \
                [run.load_after[0] for run in runs if run.load_after]
        rows.append({
            **{key: value for key, value in group.describe().items() if key not in ("variants",)},
            "setting": variant.label, "family": variant.family, "interval": variant.interval, "depth": variant.depth,
            "runs": len(runs), "sampling_s": _median([run.sampling_s for run in runs]),
            "baseline_sampling_s": _median([run.sampling_s for run in baselines]),
            "baseline_spread": _spread([run.sampling_s for run in baselines]),
            "baseline_images_identical": baseline_identical,
            "sampling_speedup": speedup, "total_speedup": _median(wall_ratios),
            "generate_speedup": _median(generate_ratios), "cpu_speedup": _median(cpu_ratios),
            "sampling_cpu_speedup": _median(sampling_cpu_ratios),
            "shallow_fraction": fraction, "theoretical_speedup": theory,
            "measured_over_theoretical": None if theory is None else speedup / theory,
            "theoretical_speedup_schedule": _schedule_theory(runs[0], fraction),
            "psnr_db": statistics.median([psnr(reference_image, run.image) for run in runs]),
            "ssim": _median([ssim(reference_image, run.image) for run in runs]),
            "peak_rss_mib": peak, "baseline_peak_rss_mib": base_peak,
            "full_evaluations": runs[0].full_evaluations, "reused_evaluations": runs[0].reused_evaluations,
            "load_min": min(loads) if loads else None, "load_max": max(loads) if loads else None,
            **step_analysis(group, variant, runs, baseline_step_s, baseline_step_cpu_s),
            **_upstream_fields(variant, runs),
        })
    return rows
