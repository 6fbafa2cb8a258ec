"""sdcpp: fast Stable Diffusion on CPU, with a correct DeepCache.

Quick start::

    import sdcpp
    image = sdcpp.txt2img(model="sd15-q4_0.gguf", prompt="a cat", steps=20)   # uint8 (H, W, 3)

    with sdcpp.Context("sd15-q4_0.gguf") as ctx:          # keep the model loaded
        for seed in range(4):
            ctx.txt2img("a cat", seed=seed)

Engine logs go to ``logging.getLogger("sdcpp")`` (silent unless you configure logging).
"""
from __future__ import annotations

import logging

__version__ = "0.1.0"

logging.getLogger("sdcpp").addHandler(logging.NullHandler())

from . import _callbacks as _callbacks  # noqa: E402  (installs the engine callbacks)
from ._ffi import BACKEND, PATCH_SERIES_HASH  # noqa: E402
from .cache import CacheStats, DeepCache  # noqa: E402
from .context import Context, GenerationResult, txt2img  # noqa: E402
from .convert import convert  # noqa: E402
from .errors import (  # noqa: E402
    BuildMismatchError,
    ContextClosedError,
    ConversionError,
    GenerationCancelled,
    GenerationError,
    InvalidArgument,
    ModelLoadError,
    SdcppError,
)
from .info import build_info, system_info  # noqa: E402
from .params import rng_types, sampling_methods, schedulers, weight_types  # noqa: E402

__all__ = [
    "BACKEND",
    "PATCH_SERIES_HASH",
    "BuildMismatchError",
    "CacheStats",
    "Context",
    "ContextClosedError",
    "ConversionError",
    "DeepCache",
    "GenerationCancelled",
    "GenerationError",
    "GenerationResult",
    "InvalidArgument",
    "ModelLoadError",
    "SdcppError",
    "__version__",
    "build_info",
    "convert",
    "rng_types",
    "sampling_methods",
    "schedulers",
    "system_info",
    "txt2img",
    "weight_types",
]
