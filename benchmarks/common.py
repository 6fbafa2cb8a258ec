"""Helpers shared by the benchmark scripts: timing a generation, PSNR, the synthetic model."""
from __future__ import annotations

import logging
import re
import statistics
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

import sdcpp

from .quality import psnr  # noqa: F401  (re-exported for benchmarks.deepcache)

_SAMPLING = re.compile(r"sampling completed, taking ([0-9.]+)s")


class _SamplingTimes(logging.Handler):
    """Collects the engine's own 'sampling completed, taking X s' lines (one per image)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.seconds: list[float] = []

    def emit(self, record: logging.LogRecord) -> None:
        match = _SAMPLING.search(record.getMessage())
        if match:
            self.seconds.append(float(match.group(1)))


@dataclass
class Timing:
    sampling_s: float
    total_s: float
    image: np.ndarray
    stats: sdcpp.CacheStats


def timed_generation(context: sdcpp.Context, **options: Any) -> Timing:
    """One generation: engine sampling time, end-to-end wall time, the image and cache stats."""
    logger = logging.getLogger("sdcpp")
    handler = _SamplingTimes()
    logger.addHandler(handler)
    old_level = logger.level
    logger.setLevel(logging.INFO)
    try:
        started = time.perf_counter()
        result = context.generate(**options)
        total = time.perf_counter() - started
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    return Timing(sum(handler.seconds), total, result.images[0], result.cache_stats)


def median_timing(context: sdcpp.Context, repeats: int, **options: Any) -> tuple[Timing, float]:
    """Median over `repeats` runs (by sampling time) and the relative spread (max-min)/median."""
    runs = sorted((timed_generation(context, **options) for _ in range(repeats)), key=lambda t: t.sampling_s)
    middle = runs[len(runs) // 2]
    samples = [run.sampling_s for run in runs]
    spread = (max(samples) - min(samples)) / statistics.median(samples) if len(samples) > 1 else 0.0
    return middle, spread
