"""Test helpers: synthetic, full-size Stable Diffusion models with seeded random weights.

No real model is downloadable where sdcpp is tested, so these helpers fabricate
checkpoints with the exact tensor names and shapes of the original single-file
releases (SD v1.5, SDXL base 1.0) and random-but-sane weights, and cache their
GGUF conversions::

    from sdcpp.testing import ensure_synthetic_model

    path = ensure_synthetic_model("sd15", "q8_0")   # built once, then cached

See :mod:`sdcpp.testing.synthetic` for the layouts and the writer.
"""
from __future__ import annotations

from .assets import (
    ensure_esrgan,
    ensure_sd15_controlnet,
    ensure_sd15_lora,
    write_esrgan,
    write_sd15_controlnet,
    write_sd15_lora,
)
from .synthetic import (
    GENERATOR_VERSION,
    SD15_UNET_OUTPUT_BLOCKS,
    SDXL_UNET_OUTPUT_BLOCKS,
    TensorSpec,
    count_params,
    ensure_synthetic_checkpoint,
    ensure_synthetic_model,
    sd15_layout,
    sdxl_layout,
    write_safetensors,
    write_sd15_checkpoint,
    write_sdxl_checkpoint,
)

__all__ = [
    "ensure_esrgan",
    "ensure_sd15_controlnet",
    "ensure_sd15_lora",
    "write_esrgan",
    "write_sd15_controlnet",
    "write_sd15_lora",
    "GENERATOR_VERSION",
    "SD15_UNET_OUTPUT_BLOCKS",
    "SDXL_UNET_OUTPUT_BLOCKS",
    "TensorSpec",
    "count_params",
    "ensure_synthetic_checkpoint",
    "ensure_synthetic_model",
    "sd15_layout",
    "sdxl_layout",
    "write_safetensors",
    "write_sd15_checkpoint",
    "write_sdxl_checkpoint",
]
