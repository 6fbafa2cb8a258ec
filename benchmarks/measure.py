"""One measured generation: engine stage timers, per-step times, wall time, peak RSS, machine load."""
from __future__ import annotations

import logging
import os
import re
import resource
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Optional

import numpy as np

import sdcpp

from .memory import PeakRss

# Lines the engine logs at INFO level, and the name each gets in a run record.
_STAGES = {
    "conditioning_s": re.compile(r"get_learned_condition completed, taking ([0-9.]+)s"),
    "sampling_s": re.compile(r"sampling completed, taking ([0-9.]+)s"),
    "decode_s": re.compile(r"decode_first_stage completed, taking ([0-9.]+)s"),
    "generate_s": re.compile(r"generate_image completed in ([0-9.]+)s"),
}


def parse_stage_times(lines: list[str]) -> dict[str, float]:
    """Engine stage timers (seconds) from its log lines; stages that repeat are summed."""
    stages: dict[str, float] = {}
    for line in lines:
        for name, pattern in _STAGES.items():
            match = pattern.search(line)
            if match:
                stages[name] = stages.get(name, 0.0) + float(match.group(1))
    return stages


class _LogCollector(logging.Handler):
    """Keeps every engine log message of one generation, and the process CPU time when the
    sampling phase starts and ends (the engine logs from the thread that runs it)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.sampling_cpu: list[float] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        self.lines.append(message)
        if "sampling using" in message or "sampling completed" in message:
            self.sampling_cpu.append(_cpu_seconds())


def load_average() -> list[float]:
    """1, 5 and 15 minute load averages (the machine is shared: readers judge the noise by these)."""
    try:
        return [round(value, 2) for value in os.getloadavg()]
    except OSError:
        return []


@dataclass
class Run:
    """A measured generation. Times in seconds, memory in MiB."""

    setting: str
    sampling_s: float
    wall_s: float
    cpu_s: float
    sampling_cpu_s: Optional[float]
    step_cpu_s: list[float]
    stages: dict[str, float]
    step_s: list[float]
    peak_rss_mib: Optional[float]
    rss_method: str
    load_before: list[float]
    load_after: list[float]
    full_evaluations: int
    reused_evaluations: int
    started_at: float
    image: np.ndarray = field(repr=False)

    def record(self) -> dict[str, Any]:
        """JSON-ready fields (the image is left out)."""
        data = asdict(self)
        data.pop("image")
        return data


def _step_durations(elapsed: list[tuple[int, float]]) -> list[float]:
    """Per-step seconds from the engine's progress reports (step k reports elapsed/k)."""
    durations, previous = [], 0.0
    for step, seconds_per_step in elapsed:
        total = seconds_per_step * step
        durations.append(round(total - previous, 4))
        previous = total
    return durations


def _sampling_cpu(marks: list[float]) -> Optional[float]:
    return round(marks[-1] - marks[0], 3) if len(marks) >= 2 else None


def _differences(marks: list[float]) -> list[float]:
    """CPU seconds of each sampling step (the first mark is the start of sampling)."""
    return [round(b - a, 4) for a, b in zip(marks, marks[1:])]


def _cpu_seconds() -> float:
    """User + system CPU time of this process so far (all threads)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(context: sdcpp.Context, setting: str, **options: Any) -> Run:
    """Run ``context.generate(**options)`` once and measure it."""
    logger = logging.getLogger("sdcpp")
    collector = _LogCollector()
    old_level = logger.level
    logger.addHandler(collector)
    logger.setLevel(logging.INFO)
    progress: list[tuple[int, float]] = []
    step_cpu: list[float] = []

    def on_progress(step: int, steps: int, seconds: float) -> None:
        progress.append((step, seconds))
        step_cpu.append(_cpu_seconds())

    load_before = load_average()
    started_at = time.time()
    try:
        with PeakRss() as peak:
            cpu_started = _cpu_seconds()
            started = time.perf_counter()
            result = context.generate(progress=on_progress, **options)
            wall = time.perf_counter() - started
            cpu = _cpu_seconds() - cpu_started
    finally:
        logger.removeHandler(collector)
        logger.setLevel(old_level)
    stages = parse_stage_times(collector.lines)
    return Run(setting=setting, sampling_s=stages.get("sampling_s", float("nan")), wall_s=round(wall, 4),
               cpu_s=round(cpu, 3), sampling_cpu_s=_sampling_cpu(collector.sampling_cpu),
               step_cpu_s=_differences(collector.sampling_cpu[:1] + step_cpu),
               stages=stages, step_s=_step_durations(progress), peak_rss_mib=peak.mib, rss_method=peak.method,
               load_before=load_before, load_after=load_average(),
               full_evaluations=result.cache_stats.full_evaluations,
               reused_evaluations=result.cache_stats.reused_evaluations, started_at=started_at,
               image=result.images[0])
