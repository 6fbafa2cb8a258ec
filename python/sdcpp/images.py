"""Images in and out of the engine: numpy/PIL conversion, padding to the model's size grid,
and PNG files written atomically (a temporary name, then rename)."""
from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Optional, Union

import numpy as np
from PIL import Image, PngImagePlugin

from .errors import InvalidArgument

ImageLike = Union[np.ndarray, Image.Image]
"""An image given to the engine: a uint8 (H, W, 3) array (or (H, W) / (H, W, 4)) or a PIL image."""

OUTPUT_FORMATS = ("numpy", "pil")


def rgb_array(name: str, image: object) -> np.ndarray:
    """A C-contiguous uint8 (H, W, 3) copy of a numpy array or PIL image (alpha dropped)."""
    if isinstance(image, Image.Image):
        return np.ascontiguousarray(np.asarray(image.convert("RGB"), dtype=np.uint8))
    if not isinstance(image, np.ndarray):
        raise InvalidArgument(f"{name} must be a numpy array or a PIL image, not {type(image).__name__}")
    if image.dtype != np.uint8:
        raise InvalidArgument(f"{name} must have dtype uint8, not {image.dtype}")
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] not in (3, 4):
        raise InvalidArgument(f"{name} must have shape (H, W, 3), got {image.shape}")
    if image.shape[0] < 1 or image.shape[1] < 1:
        raise InvalidArgument(f"{name} is empty: {image.shape}")
    return np.ascontiguousarray(image[:, :, :3])


def mask_array(name: str, image: object) -> np.ndarray:
    """A C-contiguous uint8 (H, W) mask: white (255) = repaint, black (0) = keep.

    Accepts a PIL image (any mode; converted to grayscale), a (H, W) uint8/bool array, or an
    (H, W, 3) uint8 array (its first channel is used).
    """
    if isinstance(image, Image.Image):
        return np.ascontiguousarray(np.asarray(image.convert("L"), dtype=np.uint8))
    if not isinstance(image, np.ndarray):
        raise InvalidArgument(f"{name} must be a numpy array or a PIL image, not {type(image).__name__}")
    if image.dtype == np.bool_:
        image = image.astype(np.uint8) * 255
    if image.dtype != np.uint8:
        raise InvalidArgument(f"{name} must have dtype uint8 or bool, not {image.dtype}")
    if image.ndim == 3 and image.shape[2] in (1, 3, 4):
        image = image[:, :, 0]
    if image.ndim != 2:
        raise InvalidArgument(f"{name} must have shape (H, W), got {image.shape}")
    return np.ascontiguousarray(image)


def aligned(side: int, multiple: int) -> int:
    """``side`` rounded up to a multiple of ``multiple``."""
    return -(-side // multiple) * multiple


def pad_to(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Centre ``image`` on a (height, width) canvas, repeating its edge pixels outwards.

    The engine generates at sizes it rounds up (to multiples of 64 for SD U-Nets) and sdcpp crops
    the centre back out; padding input images the same way keeps their geometry (the engine would
    otherwise stretch them).
    """
    pad_h, pad_w = height - image.shape[0], width - image.shape[1]
    if pad_h == 0 and pad_w == 0:
        return image
    widths = [(pad_h // 2, pad_h - pad_h // 2), (pad_w // 2, pad_w - pad_w // 2)]
    widths += [(0, 0)] * (image.ndim - 2)
    return np.ascontiguousarray(np.pad(image, widths, mode="edge"))


def center_crop(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """The centre (height, width) region of ``image`` (the inverse of :func:`pad_to`)."""
    top = max(0, (image.shape[0] - height) // 2)
    left = max(0, (image.shape[1] - width) // 2)
    return np.ascontiguousarray(image[top:top + height, left:left + width])


def check_output_format(output_format: object) -> str:
    """'numpy' or 'pil', else InvalidArgument."""
    if output_format not in OUTPUT_FORMATS:
        raise InvalidArgument(f"output_format must be one of {', '.join(OUTPUT_FORMATS)}, got {output_format!r}")
    return str(output_format)


def to_pil(image: np.ndarray) -> Image.Image:
    """A PIL RGB image sharing nothing with the array."""
    return Image.fromarray(np.ascontiguousarray(image), mode="RGB") if image.ndim == 3 else Image.fromarray(image)


def check_output_path(path: "os.PathLike[str] | str", overwrite: bool = True, hint: str = "") -> Path:
    """Return ``path`` as a Path if an image can be written there, else raise InvalidArgument.

    The directory must exist, the path must not be a directory, and with ``overwrite=False`` the
    file must not exist yet (``hint`` is appended to that message, e.g. the flag that allows it).
    """
    if not isinstance(path, (str, os.PathLike)) or not os.fspath(path):
        raise InvalidArgument("path must be a non-empty path")
    target = Path(os.fspath(path))
    if not target.parent.is_dir():
        raise InvalidArgument(f"output directory does not exist: {target.parent}")
    if target.is_dir():
        raise InvalidArgument(f"output path is a directory: {target}")
    if not overwrite and target.exists():
        raise InvalidArgument(f"output file exists: {target}{hint}")
    return target


def save_png(image: Union[np.ndarray, Image.Image], path: "os.PathLike[str] | str", parameters: Optional[str] = None,
             *, overwrite: bool = True) -> Path:
    """Write an image as PNG; ``parameters`` is stored as the A1111/sd-cli ``parameters`` text chunk.

    The file appears complete or not at all: it is written under a temporary name in the same
    directory and renamed. With ``overwrite=False`` an existing file is an error, also when another
    writer creates it meanwhile (the file is put in place with a hard link, which never replaces).
    See :func:`sdcpp.metadata.format_parameters` for the text sd-cli writes and reads.
    """
    if isinstance(image, Image.Image):
        image = np.asarray(image.convert("RGB"))
    array = np.asarray(image)
    if array.dtype != np.uint8 or array.ndim != 3 or array.shape[2] not in (3, 4):
        raise InvalidArgument(f"image must be a uint8 array of shape (H, W, 3), got {array.dtype} {array.shape}")
    target = check_output_path(path, overwrite)
    info = PngImagePlugin.PngInfo()
    if parameters is not None:
        info.add_text("parameters", parameters)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.partial")
    try:
        Image.fromarray(array).save(temporary, format="PNG", pnginfo=info)
        if overwrite:
            os.replace(temporary, target)
        else:
            _link_without_replacing(temporary, target)
    finally:
        if temporary.exists():
            temporary.unlink()
    return target


def _link_without_replacing(source: Path, target: Path) -> None:
    """Put ``source`` in place as ``target`` unless ``target`` exists, atomically where the file
    system has hard links (elsewhere a check followed by a rename)."""
    try:
        os.link(source, target)
    except FileExistsError:
        raise InvalidArgument(f"output file exists: {target}") from None
    except OSError:  # no hard links on this file system
        if target.exists():
            raise InvalidArgument(f"output file exists: {target}") from None
        os.replace(source, target)
