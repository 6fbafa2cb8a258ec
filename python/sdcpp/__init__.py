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
from .context import Context, GenerationResult, img2img, txt2img  # noqa: E402
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
from .images import save_png  # noqa: E402
from .info import build_info, system_info  # noqa: E402
from .loras import Lora  # noqa: E402
from .metadata import format_parameters, parse_parameters, read_parameters  # noqa: E402
from .preprocess import canny  # noqa: E402
from .request import GenerationRequest  # noqa: E402
from .upscale import Upscaler, upscale  # noqa: E402
from .params import (  # noqa: E402
    hires_upscalers,
    lora_apply_modes,
    predictions,
    preview_modes,
    rng_types,
    sampling_methods,
    schedulers,
    weight_types,
)

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
    "GenerationRequest",
    "GenerationResult",
    "InvalidArgument",
    "Lora",
    "ModelLoadError",
    "SdcppError",
    "Upscaler",
    "__version__",
    "build_info",
    "canny",
    "convert",
    "format_parameters",
    "hires_upscalers",
    "img2img",
    "lora_apply_modes",
    "parse_parameters",
    "predictions",
    "preview_modes",
    "read_parameters",
    "save_png",
    "rng_types",
    "sampling_methods",
    "schedulers",
    "system_info",
    "txt2img",
    "upscale",
    "weight_types",
]
