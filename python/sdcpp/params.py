"""Engine vocabularies (sampling methods, schedulers, ...) read from the engine's own name tables,
and the validation helpers that turn user arguments into engine values before any C call."""
from __future__ import annotations

import functools
import math
import os
from pathlib import Path
from typing import Callable, Optional, Union

from ._ffi import ffi, lib, to_str
from .errors import InvalidArgument

PathLike = Union[str, "os.PathLike[str]"]

# sd-cli's defaults (examples/common/common.cpp).
DEFAULT_WIDTH = 512
DEFAULT_HEIGHT = 512
DEFAULT_STEPS = 20
DEFAULT_CFG_SCALE = 7.0
DEFAULT_SEED = 42
DEFAULT_STRENGTH = 0.75

MAX_SIDE = 16384
MAX_STEPS = 10000


def _name_table(name_of: Callable[[int], object], count: int) -> tuple[str, ...]:
    return tuple(to_str(name_of(index)) for index in range(count))


@functools.lru_cache(maxsize=None)
def sampling_methods() -> tuple[str, ...]:
    """Names of the engine's sampling methods, as sd-cli's --sampling-method accepts them."""
    return _name_table(lib.sd_sample_method_name, lib.SAMPLE_METHOD_COUNT)


@functools.lru_cache(maxsize=None)
def schedulers() -> tuple[str, ...]:
    """Names of the engine's schedulers, as sd-cli's --scheduler accepts them."""
    return _name_table(lib.sd_scheduler_name, lib.SCHEDULER_COUNT)


@functools.lru_cache(maxsize=None)
def rng_types() -> tuple[str, ...]:
    """Names of the engine's random number generators (--rng)."""
    return _name_table(lib.sd_rng_type_name, lib.RNG_TYPE_COUNT)


@functools.lru_cache(maxsize=None)
def weight_types() -> tuple[str, ...]:
    """Names of the tensor types the engine can convert to or run in (--type)."""
    names = []
    for index in range(lib.SD_TYPE_COUNT):
        name = to_str(lib.sd_type_name(index))
        if name and name not in names and name.upper() != "DEPRECATED" and not name.startswith("NONE"):
            names.append(name)
    return tuple(names)


@functools.lru_cache(maxsize=None)
def predictions() -> tuple[str, ...]:
    """Names of the prediction types a model can be forced to (--prediction)."""
    return _name_table(lib.sd_prediction_name, lib.PREDICTION_COUNT)


@functools.lru_cache(maxsize=None)
def lora_apply_modes() -> tuple[str, ...]:
    """Names of the ways LoRAs are applied (--lora-apply-mode)."""
    return _name_table(lib.sd_lora_apply_mode_name, lib.LORA_APPLY_MODE_COUNT)


@functools.lru_cache(maxsize=None)
def hires_upscalers() -> tuple[str, ...]:
    """Names of the built-in highres-fix upscalers (--hires-upscaler), ``"None"`` excluded."""
    return _name_table(lib.sd_hires_upscaler_name, lib.SD_HIRES_UPSCALER_COUNT)[1:]


@functools.lru_cache(maxsize=None)
def preview_modes() -> tuple[str, ...]:
    """Names of the preview methods (--preview)."""
    return _name_table(lib.sd_preview_name, lib.PREVIEW_COUNT)


def _lookup(kind: str, value: str, names: tuple[str, ...]) -> int:
    if not isinstance(value, str):
        raise InvalidArgument(f"{kind} must be a string, not {type(value).__name__}")
    try:
        return names.index(value)
    except ValueError:
        raise InvalidArgument(f"unknown {kind} {value!r}; choose one of: {', '.join(names)}") from None


def sampling_method_value(name: str) -> int:
    """Engine enum value of a sampling method name; InvalidArgument for an unknown name."""
    return _lookup("sampling method", name, sampling_methods())


def scheduler_value(name: str) -> int:
    """Engine enum value of a scheduler name; InvalidArgument for an unknown name."""
    return _lookup("scheduler", name, schedulers())


def rng_value(name: str) -> int:
    """Engine enum value of an RNG name; InvalidArgument for an unknown name."""
    return _lookup("rng", name, rng_types())


def prediction_value(name: str) -> int:
    """Engine enum value of a prediction type name; InvalidArgument for an unknown name."""
    return _lookup("prediction", name, predictions())


def lora_apply_mode_value(name: str) -> int:
    """Engine enum value of a LoRA apply mode name; InvalidArgument for an unknown name."""
    return _lookup("lora apply mode", name, lora_apply_modes())


def hires_upscaler_value(name: str) -> int:
    """Engine enum value of a built-in highres-fix upscaler name (e.g. ``"Latent"``)."""
    return _lookup("hires upscaler", name, hires_upscalers()) + 1


def preview_mode_value(name: str) -> int:
    """Engine enum value of a preview method name."""
    return _lookup("preview method", name, preview_modes())


def weight_type_value(name: str) -> int:
    """Engine enum value (ggml type) of a tensor type name such as 'q8_0'."""
    if not isinstance(name, str):
        raise InvalidArgument(f"type must be a string such as 'q8_0', not {type(name).__name__}")
    value = int(lib.str_to_sd_type(name.encode()))
    if value >= lib.SD_TYPE_COUNT:
        raise InvalidArgument(f"unknown type {name!r}; choose one of: {', '.join(weight_types())}")
    return value


def check_int(name: str, value: object, minimum: int, maximum: int) -> int:
    """An int within [minimum, maximum] (bools are refused), else InvalidArgument."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgument(f"{name} must be an integer, not {type(value).__name__}")
    if not minimum <= value <= maximum:
        raise InvalidArgument(f"{name} must be between {minimum} and {maximum}, got {value}")
    return value


def check_float(name: str, value: object, minimum: float, maximum: float) -> float:
    """A finite number within [minimum, maximum], else InvalidArgument."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidArgument(f"{name} must be a number, not {type(value).__name__}")
    number = float(value)
    if not math.isfinite(number) or not minimum <= number <= maximum:
        raise InvalidArgument(f"{name} must be a finite number between {minimum} and {maximum}, got {value}")
    return number


def check_side(name: str, value: object) -> int:
    """An image side in pixels: positive, a multiple of 8, at most MAX_SIDE."""
    side = check_int(name, value, 1, MAX_SIDE)
    if side % 8:
        raise InvalidArgument(f"{name} must be a multiple of 8, got {side}")
    return side


def check_text(name: str, value: object, max_bytes: int = 1 << 20) -> bytes:
    """A str without NUL characters, encoded as UTF-8 for the engine."""
    if not isinstance(value, str):
        raise InvalidArgument(f"{name} must be a string, not {type(value).__name__}")
    if "\0" in value:
        raise InvalidArgument(f"{name} must not contain NUL characters")
    try:
        encoded = value.encode("utf-8", errors="strict")
    except UnicodeEncodeError as error:
        raise InvalidArgument(f"{name} is not valid text ({error.reason} at position {error.start})") from None
    if len(encoded) > max_bytes:
        raise InvalidArgument(f"{name} is {len(encoded)} bytes long; the limit is {max_bytes}")
    return encoded


def check_file(name: str, value: Optional[PathLike], must_exist: bool = True) -> Optional[bytes]:
    """An existing regular file path, encoded for the engine (None passes through)."""
    if value is None:
        return None
    if not isinstance(value, (str, os.PathLike)):
        raise InvalidArgument(f"{name} must be a path, not {type(value).__name__}")
    text = os.fspath(value)
    if not text or "\0" in text:
        raise InvalidArgument(f"{name} must be a non-empty path without NUL characters")
    path = Path(text)
    if must_exist:
        if not path.exists():
            raise InvalidArgument(f"{name}: no such file: {text}")
        if not path.is_file():
            raise InvalidArgument(f"{name}: not a regular file: {text}")
    return os.fsencode(text)


def check_dir(name: str, value: Optional[PathLike]) -> Optional[bytes]:
    """An existing directory path, encoded for the engine (None passes through)."""
    if value is None:
        return None
    if not isinstance(value, (str, os.PathLike)):
        raise InvalidArgument(f"{name} must be a path, not {type(value).__name__}")
    text = os.fspath(value)
    if not text or "\0" in text or not Path(text).is_dir():
        raise InvalidArgument(f"{name}: not a directory: {text!r}")
    return os.fsencode(text)


class CStrings:
    """Keeps the C strings handed to one engine call alive until the call returns."""

    def __init__(self) -> None:
        self._keep: list[object] = []

    def __call__(self, value: Optional[bytes]) -> object:
        if value is None:
            return ffi.NULL
        buffer = ffi.new("char[]", value)
        self._keep.append(buffer)
        return buffer

    def keep(self, obj: object) -> object:
        self._keep.append(obj)
        return obj
