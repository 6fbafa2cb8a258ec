"""Image files: write PNGs atomically (a temporary name, then rename)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import numpy as np
from PIL import Image, PngImagePlugin

from .errors import InvalidArgument


def save_png(image: np.ndarray, path: "os.PathLike[str] | str", parameters: Optional[str] = None) -> Path:
    """Write a uint8 (H, W, 3) array as PNG; ``parameters`` is stored as the 'parameters' text chunk.

    The file appears complete or not at all: it is written under a temporary name and renamed.
    """
    array = np.asarray(image)
    if array.dtype != np.uint8 or array.ndim != 3 or array.shape[2] not in (3, 4):
        raise InvalidArgument(f"image must be a uint8 array of shape (H, W, 3), got {array.dtype} {array.shape}")
    target = Path(os.fspath(path))
    if not target.parent.is_dir():
        raise InvalidArgument(f"output directory does not exist: {target.parent}")
    info = PngImagePlugin.PngInfo()
    if parameters is not None:
        info.add_text("parameters", parameters)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.partial")
    try:
        Image.fromarray(array).save(temporary, format="PNG", pnginfo=info)
        os.replace(temporary, target)
    finally:
        if temporary.exists():
            temporary.unlink()
    return target
