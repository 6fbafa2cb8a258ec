"""Step caches: DeepCache (our engine patch) and upstream's cache modes (ucache, spectrum, ...).

DeepCache (Ma et al., CVPR 2024) reuses the deep U-Net features between adjacent model
evaluations and recomputes only the shallow branch. Terms:

- ``interval`` N: one full evaluation, then N-1 shallow ("reuse") evaluations.
- ``depth`` d: a shallow evaluation runs input blocks 0..d and output blocks n-1-d..n-1
  (n = 12 output blocks for SD1.x/SD2.x, 9 for SDXL); 0 is fastest, 1 is the paper's SD setting.
- window ``[start, end)``: model evaluations (0-based) where caching applies; the first evaluation
  of the window is always full. ``end=None`` means up to the last evaluation.

Evaluations, not steps, are counted: heun, dpm2 and dpm++2s_a make 2T-1 evaluations for T steps.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Mapping, Optional, Union

from . import params as P
from ._ffi import lib
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


@dataclasses.dataclass(frozen=True)
class DeepCache:
    """DeepCache settings: ``DeepCache(interval=3, depth=0, start=0, end=None)``.

    ``interval`` <= 1 or an empty window turns caching off (the output is then bit-identical to
    a run without DeepCache). The CLI form is ``"interval,depth,start,end"`` (trailing parts optional;
    an end of -1 or "" means the last evaluation).
    """

    interval: int = 3
    depth: int = 0
    start: int = 0
    end: Optional[int] = None

    def __post_init__(self) -> None:
        P.check_int("deepcache interval", self.interval, 1, 10000)
        P.check_int("deepcache depth", self.depth, 0, 100)
        P.check_int("deepcache start", self.start, 0, 10**6)
        if self.end is not None:
            P.check_int("deepcache end", self.end, 0, 10**6)
            if self.end < self.start:
                raise InvalidArgument(f"deepcache end ({self.end}) must not be before start ({self.start})")

    @classmethod
    def parse(cls, text: str) -> "DeepCache":
        """Parse the CLI form ``"interval[,depth[,start[,end]]]"`` (e.g. ``"3,0,0,20"``)."""
        if not isinstance(text, str):
            raise InvalidArgument(f"deepcache must be a string like '3,0,0,20', not {type(text).__name__}")
        parts = [part.strip() for part in text.split(",")]
        if not 1 <= len(parts) <= 4:
            raise InvalidArgument(f"deepcache {text!r}: expected interval[,depth[,start[,end]]]")
        try:
            numbers = [None if part in ("", "-1") and index == 3 else int(part) for index, part in enumerate(parts)]
        except ValueError:
            raise InvalidArgument(f"deepcache {text!r}: every part must be an integer") from None
        interval, depth, start, end = (numbers + [3, 0, 0, None][len(numbers):])
        if interval is None or depth is None or start is None:
            raise InvalidArgument(f"deepcache {text!r}: interval, depth and start must be integers")
        return cls(interval=interval, depth=depth, start=start, end=end)

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
        """Check depth and window against the loaded model and the run's evaluation count."""
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

    def __str__(self) -> str:
        return f"{self.interval},{self.depth},{self.start},{-1 if self.end is None else self.end}"


@dataclasses.dataclass(frozen=True)
class CacheStats:
    """Model evaluations of the last generation: full ones and DeepCache reuses (summed over images)."""

    full_evaluations: int
    reused_evaluations: int


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
_DEEPCACHE_OPTION_KEYS = ("interval", "depth", "start", "end")


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


def deepcache_from_options(options: Mapping[str, str]) -> DeepCache:
    """``--cache-mode deepcache --cache-option interval=3,depth=1`` -> DeepCache."""
    unknown = sorted(set(options) - set(_DEEPCACHE_OPTION_KEYS))
    if unknown:
        raise InvalidArgument(f"unknown deepcache option(s): {', '.join(unknown)}; "
                              f"use {', '.join(_DEEPCACHE_OPTION_KEYS)}")
    values: dict[str, Any] = {key: _convert(key, text, _INT) for key, text in options.items()}
    if values.get("end") == -1:
        values["end"] = None
    return DeepCache(**values)


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


def fill_deepcache(c_cache: Any, deepcache: DeepCache) -> None:
    """Set an ``sd_cache_params_t`` for DeepCache. Settings that reuse nothing are passed on too:
    the engine then runs every evaluation in full, bit-identical to no cache."""
    c_cache.mode = lib.SD_CACHE_DEEPCACHE
    c_cache.deepcache_interval = deepcache.interval
    c_cache.deepcache_depth = deepcache.depth
    c_cache.deepcache_start = deepcache.start
    c_cache.deepcache_end = -1 if deepcache.end is None else deepcache.end
