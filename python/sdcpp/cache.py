"""Step caches: DeepCache (our engine patch) and upstream's cache modes (ucache, spectrum, ...).

DeepCache (Ma et al., CVPR 2024) reuses the deep U-Net features between adjacent model
evaluations and recomputes only the shallow branch. Terms:

- ``interval`` N: one full evaluation, then N-1 shallow ("reuse") evaluations.
- ``depth`` d: a shallow evaluation runs input blocks 0..d and output blocks n-1-d..n-1
  (n = 12 output blocks for SD1.x/SD2.x, 9 for SDXL); 0 is fastest, 1 is the paper's SD setting.
- window ``[start, end)``: model evaluations (0-based) where caching applies; the first evaluation
  of the window is always full. ``end=None`` means up to the last evaluation.
- ``schedule``: where the full evaluations go inside the window. ``"uniform"`` (the default): every
  interval-th. ``"quadratic"``: the DeepCache authors' placement (``sample_from_quad_center`` in
  horseee/DeepCache), ceil(W / interval) full evaluations for a window of W, denser around
  ``center`` (in evaluations from the window's start) with the curve's ``power``.

Evaluations, not steps, are counted: heun, dpm2 and dpm++2s_a make 2T-1 evaluations for T steps.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Any, Mapping, Optional, Union

from . import params as P
from ._ffi import ffi, lib
from .errors import InvalidArgument

# Sampling methods that call the model twice per step (except on the last step).
TWO_EVALUATION_METHODS = frozenset({"heun", "dpm2", "dpm++2s_a"})
# Two evaluations per step as an upper bound (the exact count depends on the sigmas).
UP_TO_TWO_EVALUATION_METHODS = frozenset({"res_2s"})


def model_evaluations(sampling_method: str, steps: int) -> int:
    """How many times a sampling run of ``steps`` steps evaluates the model (an upper bound for
    methods whose count depends on the sigmas)."""
    if sampling_method in TWO_EVALUATION_METHODS:
        return 2 * steps - 1
    if sampling_method in UP_TO_TWO_EVALUATION_METHODS:
        return 2 * steps
    return steps


SCHEDULES = ("uniform", "quadratic")
# The DeepCache authors' defaults for the quadratic schedule (their Stable Diffusion script).
DEFAULT_CENTER = 15
DEFAULT_POWER = 1.4
MAX_POWER = 10.0


@dataclasses.dataclass(frozen=True)
class DeepCache:
    """DeepCache settings: ``DeepCache(interval=3, depth=0, start=0, end=None, schedule="uniform")``.

    ``interval`` <= 1 or an empty window turns caching off (the output is then bit-identical to
    a run without DeepCache). ``schedule="quadratic"`` places ceil(W / interval) full evaluations
    of a W-evaluation window as the DeepCache authors do (``center``, ``power``: their ``center``
    and ``pow``, defaults 15 and 1.4); ``center`` and ``power`` only apply to it. The CLI form is
    ``"interval,depth,start,end"`` (trailing parts optional; an end of -1 or "" means the last
    evaluation), followed by ``",quadratic,center,power"`` for the quadratic schedule.
    """

    interval: int = 3
    depth: int = 0
    start: int = 0
    end: Optional[int] = None
    schedule: str = "uniform"
    center: int = DEFAULT_CENTER
    power: float = DEFAULT_POWER

    def __post_init__(self) -> None:
        P.check_int("deepcache interval", self.interval, 1, 10000)
        P.check_int("deepcache depth", self.depth, 0, 100)
        P.check_int("deepcache start", self.start, 0, 10**6)
        if self.end is not None:
            P.check_int("deepcache end", self.end, 0, 10**6)
            if self.end < self.start:
                raise InvalidArgument(f"deepcache end ({self.end}) must not be before start ({self.start})")
        if self.schedule not in SCHEDULES:
            raise InvalidArgument(f"deepcache schedule {self.schedule!r} is unknown; choose one of: "
                                  f"{', '.join(SCHEDULES)}")
        P.check_int("deepcache center", self.center, 0, 10**6)
        P.check_float("deepcache power", self.power, 1.0, MAX_POWER)
        if self.power <= 1.0:
            raise InvalidArgument(f"deepcache power must be greater than 1, got {self.power}")
        object.__setattr__(self, "power", float(self.power))
        if self.schedule == "uniform" and (self.center != DEFAULT_CENTER or self.power != DEFAULT_POWER):
            raise InvalidArgument("deepcache center and power apply to schedule='quadratic' only")

    @classmethod
    def parse(cls, text: str) -> "DeepCache":
        """Parse the CLI form ``"interval[,depth[,start[,end]]]"`` (e.g. ``"3,0,0,20"``), optionally
        followed by ``",quadratic[,center[,power]]"`` (e.g. ``"5,1,0,-1,quadratic,15,1.4"``)."""
        if not isinstance(text, str):
            raise InvalidArgument(f"deepcache must be a string like '3,0,0,20', not {type(text).__name__}")
        parts = [part.strip() for part in text.split(",")]
        expected = "interval[,depth[,start[,end[,schedule[,center[,power]]]]]]"
        if not 1 <= len(parts) <= 7:
            raise InvalidArgument(f"deepcache {text!r}: expected {expected}")
        numeric, named = parts[:4], parts[4:]
        try:
            numbers = [None if part in ("", "-1") and index == 3 else int(part) for index, part in enumerate(numeric)]
        except ValueError:
            raise InvalidArgument(f"deepcache {text!r}: every part must be an integer (interval, depth, start, end)") from None
        interval, depth, start, end = (numbers + [3, 0, 0, None][len(numbers):])
        if interval is None or depth is None or start is None:
            raise InvalidArgument(f"deepcache {text!r}: interval, depth and start must be integers")
        schedule = named[0] if named else "uniform"
        try:
            center = int(named[1]) if len(named) > 1 else DEFAULT_CENTER
            power = float(named[2]) if len(named) > 2 else DEFAULT_POWER
        except ValueError:
            raise InvalidArgument(f"deepcache {text!r}: center must be an integer and power a number") from None
        return cls(interval=interval, depth=depth, start=start, end=end, schedule=schedule, center=center,
                   power=power)

    @classmethod
    def coerce(cls, value: Union["DeepCache", int, str]) -> "DeepCache":
        """Accept a DeepCache, a plain int (the interval) or the CLI string form."""
        if isinstance(value, DeepCache):
            return value
        if isinstance(value, bool):
            raise InvalidArgument("deepcache must be a DeepCache, an int interval or a string")
        if isinstance(value, int):
            return cls(interval=value)
        if isinstance(value, str):
            return cls.parse(value)
        raise InvalidArgument(f"deepcache must be a DeepCache, an int interval or a string, not {type(value).__name__}")

    @property
    def enabled(self) -> bool:
        """False when the settings cannot reuse anything (interval 1 or an empty window)."""
        return self.interval > 1 and (self.end is None or self.end > self.start)

    def validate_for(self, max_depth: int, evaluations: int) -> None:
        """Check depth, window and schedule against the loaded model and the run's evaluation count."""
        if max_depth < 0:
            return  # not a U-Net: the engine warns and runs without DeepCache
        if self.depth > max_depth:
            raise InvalidArgument(f"deepcache depth {self.depth} is out of range for this model (0..{max_depth})")
        if self.enabled and self.start >= evaluations:
            raise InvalidArgument(
                f"deepcache start {self.start} is past the last model evaluation ({evaluations} in this run)")
        if self.end is not None and self.end > evaluations:
            raise InvalidArgument(
                f"deepcache end {self.end} is past the number of model evaluations ({evaluations} in this run)")
        if self.enabled and self.schedule == "quadratic":
            self.window_full_evaluations(self.window_length(evaluations))  # raises when no set exists

    def window_length(self, evaluations: int) -> int:
        """Model evaluations inside the window for a run of ``evaluations`` evaluations."""
        end = evaluations if self.end is None else min(self.end, evaluations)
        return max(0, end - self.start)

    def window_full_evaluations(self, window: int) -> tuple[int, ...]:
        """The full evaluations of a window of ``window`` evaluations, as offsets from its start
        (computed by the engine: ``sd_deepcache_full_steps``)."""
        P.check_int("deepcache window", window, 0, 10**6)
        if window == 0:
            return ()
        schedule = lib.SD_DEEPCACHE_SCHEDULE_QUADRATIC if self.schedule == "quadratic" else lib.SD_DEEPCACHE_SCHEDULE_UNIFORM
        count = int(lib.sd_deepcache_full_steps(window, self.interval, schedule, self.center, self.power, ffi.NULL, 0))
        if count < 0:
            raise InvalidArgument(
                f"deepcache schedule quadratic: with center {self.center} and power {self.power} the authors' search "
                f"finds no {math.ceil(window / self.interval)} full evaluations for a window of {window} evaluations "
                "(their code raises ValueError here); lower the center, change the interval or use schedule='uniform'")
        offsets = ffi.new("int[]", max(count, 1))
        lib.sd_deepcache_full_steps(window, self.interval, schedule, self.center, self.power, offsets, count)
        return tuple(int(offsets[i]) for i in range(count))

    def planned_full_evaluations(self, evaluations: int) -> tuple[int, ...]:
        """Which model evaluations (0-based) of a run of ``evaluations`` evaluations run in full:
        all of them outside the window, the schedule's inside (before any fallback)."""
        P.check_int("evaluations", evaluations, 0, 10**6)
        if not self.enabled:
            return tuple(range(evaluations))
        window = self.window_length(evaluations)
        inside = {self.start + offset for offset in self.window_full_evaluations(window)}
        return tuple(e for e in range(evaluations) if not self.start <= e < self.start + window or e in inside)

    def __str__(self) -> str:
        text = f"{self.interval},{self.depth},{self.start},{-1 if self.end is None else self.end}"
        if self.schedule == "quadratic":
            text += f",quadratic,{self.center},{self.power!r}"
        return text


@dataclasses.dataclass(frozen=True)
class CacheStats:
    """Model evaluations of the last generation: full ones and DeepCache reuses (summed over images).

    ``full_evaluation_indices``: which evaluations (0-based) of the last sampling run ran in full
    while DeepCache was on (empty when it was off).
    """

    full_evaluations: int
    reused_evaluations: int
    full_evaluation_indices: tuple[int, ...] = ()


def read_cache_stats(ctx_ptr: Any) -> CacheStats:
    """The engine's DeepCache report for the last generate call on an ``sd_ctx_t*``."""
    c_stats = ffi.new("sd_cache_stats_t*")
    lib.sd_get_cache_stats(ctx_ptr, c_stats)
    count = int(lib.sd_get_deepcache_full_evaluations(ctx_ptr, ffi.NULL, 0))
    indices = ffi.new("int[]", max(count, 1))
    count = min(count, int(lib.sd_get_deepcache_full_evaluations(ctx_ptr, indices, count)))
    return CacheStats(int(c_stats.full_evaluations), int(c_stats.reused_evaluations),
                      tuple(int(indices[i]) for i in range(count)))


# sd-cli's --cache-mode names.
UPSTREAM_CACHE_MODES = {
    "easycache": "SD_CACHE_EASYCACHE",
    "ucache": "SD_CACHE_UCACHE",
    "dbcache": "SD_CACHE_DBCACHE",
    "taylorseer": "SD_CACHE_TAYLORSEER",
    "cache-dit": "SD_CACHE_CACHE_DIT",
    "spectrum": "SD_CACHE_SPECTRUM",
}
CACHE_MODES = ("disabled", *UPSTREAM_CACHE_MODES, "deepcache")

# sd-cli's --cache-option keys -> (sd_cache_params_t field, type); some depend on the mode.
_FLOAT, _INT, _BOOL = float, int, bool
_OPTION_FIELDS: dict[str, tuple[str, type]] = {
    "start": ("start_percent", _FLOAT),
    "end": ("end_percent", _FLOAT),
    "decay": ("error_decay_rate", _FLOAT),
    "relative": ("use_relative_threshold", _BOOL),
    "reset": ("reset_error_on_compute", _BOOL),
    "fn": ("Fn_compute_blocks", _INT),
    "bn": ("Bn_compute_blocks", _INT),
    "w": ("spectrum_w", _FLOAT),
    "m": ("spectrum_m", _INT),
    "lam": ("spectrum_lam", _FLOAT),
    "window": ("spectrum_window_size", _INT),
    "flex": ("spectrum_flex_window", _FLOAT),
    "stop": ("spectrum_stop_percent", _FLOAT),
}
_DEEPCACHE_OPTION_KEYS = ("interval", "depth", "start", "end", "schedule", "center", "power")


def parse_cache_options(options: Union[str, Mapping[str, Any], None]) -> dict[str, str]:
    """``"threshold=0.2,start=0.1"`` (sd-cli's --cache-option) or a mapping -> {key: text}."""
    if options is None:
        return {}
    if isinstance(options, Mapping):
        return {str(key): str(value) for key, value in options.items()}
    if not isinstance(options, str):
        raise InvalidArgument("cache_options must be a 'key=value,...' string or a mapping")
    parsed = {}
    for token in filter(None, (part.strip() for part in options.split(","))):
        key, sep, value = token.partition("=")
        if not sep:
            raise InvalidArgument(f"cache option {token!r} is missing '='")
        parsed[key.strip()] = value.strip()
    return parsed


def _convert(key: str, text: str, kind: type) -> Any:
    try:
        if kind is _BOOL:
            return float(text) != 0.0
        return kind(text)
    except ValueError:
        raise InvalidArgument(f"invalid value {text!r} for cache option {key!r}") from None


def deepcache_from_options(options: Mapping[str, str], base: Optional[DeepCache] = None) -> DeepCache:
    """``--cache-mode deepcache --cache-option interval=3,depth=1,schedule=quadratic`` -> DeepCache.

    With ``base`` (e.g. from ``--deepcache 5,1``) the options replace only the fields they name."""
    unknown = sorted(set(options) - set(_DEEPCACHE_OPTION_KEYS))
    if unknown:
        raise InvalidArgument(f"unknown deepcache option(s): {', '.join(unknown)}; "
                              f"use {', '.join(_DEEPCACHE_OPTION_KEYS)}")
    values: dict[str, Any] = {}
    for key, text in options.items():
        if key == "schedule":
            values[key] = text
        else:
            values[key] = _convert(key, text, _FLOAT if key == "power" else _INT)
    if values.get("end") == -1:
        values["end"] = None
    return dataclasses.replace(base if base is not None else DeepCache(), **values)


def fill_upstream_cache(c_cache: Any, mode: str, options: Mapping[str, str]) -> None:
    """Set an ``sd_cache_params_t`` for one of upstream's modes, as sd-cli does."""
    c_cache.mode = getattr(lib, UPSTREAM_CACHE_MODES[mode])
    for key, text in options.items():
        lowered = key.lower()
        if lowered == "threshold":
            field = "reuse_threshold" if mode in ("easycache", "ucache") else "residual_diff_threshold"
            setattr(c_cache, field, _convert(key, text, _FLOAT))
        elif lowered == "warmup":
            field = "spectrum_warmup_steps" if mode == "spectrum" else "max_warmup_steps"
            setattr(c_cache, field, _convert(key, text, _INT))
        elif lowered in _OPTION_FIELDS:
            field, kind = _OPTION_FIELDS[lowered]
            setattr(c_cache, field, _convert(key, text, kind))
        else:
            raise InvalidArgument(f"unknown cache option {key!r} for cache mode {mode!r}")


# Upstream cache modes DeepCache stacks with: the step cache skips whole evaluations, DeepCache
# makes the ones it runs shallow (evaluations it skips do not advance DeepCache's schedule).
STACKABLE_CACHE_MODES = ("ucache",)


def fill_deepcache(c_cache: Any, deepcache: DeepCache, step_cache_mode: Optional[str] = None,
                   step_cache_options: Optional[Mapping[str, str]] = None) -> None:
    """Set an ``sd_cache_params_t`` for DeepCache, alone or on top of ``step_cache_mode`` (one of
    STACKABLE_CACHE_MODES, with its ``--cache-option`` mapping). Settings that reuse nothing are
    passed on too: the engine then runs every evaluation in full, bit-identical to no cache."""
    if step_cache_mode is None:
        c_cache.mode = lib.SD_CACHE_DEEPCACHE
    elif step_cache_mode in STACKABLE_CACHE_MODES:
        fill_upstream_cache(c_cache, step_cache_mode, step_cache_options or {})
        c_cache.deepcache_with_ucache = True
    else:
        raise InvalidArgument(f"deepcache does not stack with cache_mode={step_cache_mode!r}; "
                              f"it stacks with: {', '.join(STACKABLE_CACHE_MODES)}")
    c_cache.deepcache_interval = deepcache.interval
    c_cache.deepcache_depth = deepcache.depth
    c_cache.deepcache_start = deepcache.start
    c_cache.deepcache_end = -1 if deepcache.end is None else deepcache.end
    if deepcache.schedule == "quadratic":  # uniform: sd_cache_params_init's defaults
        c_cache.deepcache_schedule = lib.SD_DEEPCACHE_SCHEDULE_QUADRATIC
        c_cache.deepcache_center = deepcache.center
        c_cache.deepcache_power = deepcache.power
