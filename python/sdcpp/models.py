"""Recognise and validate model files, so a wrong or damaged file is refused before the engine sees it."""
from __future__ import annotations

from pathlib import Path

from .model_check import GGUF_MAGIC, MAX_SAFETENSORS_HEADER, ZIP_MAGIC, inspect_model

__all__ = ["GGUF_MAGIC", "MAX_SAFETENSORS_HEADER", "ZIP_MAGIC", "model_format"]


def model_format(path: Path) -> str:
    """Return 'gguf', 'safetensors' or 'ckpt' for a model file after validating its structure.

    Only the headers are read (milliseconds, whatever the file size); see
    :mod:`sdcpp.model_check` for what is checked.

    Raises:
        ModelLoadError: the file is missing, a directory, empty, not a model file, truncated or
            corrupt, holds no tensor of a known model, or is a checkpoint whose pickle names code
            to run. The message names the file and the problem.
    """
    return inspect_model(path).format
