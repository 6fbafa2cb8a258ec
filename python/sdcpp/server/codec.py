"""Images over HTTP: base64 / file uploads decoded with byte and pixel limits, PNGs encoded."""
from __future__ import annotations

import base64
import binascii
import io
import re
import warnings
from typing import Optional

import numpy as np
from PIL import Image, PngImagePlugin

from .errors import ApiError

_DATA_URL = re.compile(r"^data:image/[a-zA-Z0-9.+-]+;base64,")
OUTPUT_FORMATS = {"png": "PNG", "jpeg": "JPEG", "jpg": "JPEG", "webp": "WEBP"}
MEDIA_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}


def decode_base64(field: str, text: str) -> bytes:
    """The bytes of a base64 image (a bare string or a ``data:image/...;base64,`` URL)."""
    if not isinstance(text, str) or not text:
        raise ApiError(422, f"{field} must be a base64-encoded image", field)
    text = _DATA_URL.sub("", text.strip(), count=1)
    try:
        return base64.b64decode(text, validate=False)
    except (binascii.Error, ValueError):
        raise ApiError(422, f"{field} is not valid base64", field) from None


def open_image(field: str, data: bytes, max_pixels: int) -> Image.Image:
    """Decode image bytes into a loaded PIL image, refusing more than ``max_pixels`` pixels
    before any pixel is decoded."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width * height > max_pixels:
                raise ApiError(413, f"{field} is {width}x{height} pixels; this server accepts at most {max_pixels}",
                               field)
            image.load()
    except ApiError:
        raise
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ApiError(422, f"{field} is not a readable image ({error})", field) from None
    return image


def decode_image(field: str, text: str, max_pixels: int) -> Image.Image:
    """A base64 image string -> a loaded PIL image (limits as :func:`open_image`)."""
    return open_image(field, decode_base64(field, text), max_pixels)


def to_rgb(image: Image.Image) -> np.ndarray:
    """A uint8 (H, W, 3) array; transparent pixels become white, as in A1111."""
    if image.mode in ("RGBA", "LA", "P", "PA"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    return np.ascontiguousarray(np.asarray(image.convert("RGB"), dtype=np.uint8))


def encode_png(image: np.ndarray, parameters: Optional[str] = None) -> bytes:
    """PNG bytes of a uint8 (H, W, 3) array, with A1111's ``parameters`` text chunk."""
    info = None
    if parameters is not None:
        info = PngImagePlugin.PngInfo()
        info.add_text("parameters", parameters)
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG", pnginfo=info, compress_level=4)
    return buffer.getvalue()


def transcode(png: bytes, output_format: str, quality: Optional[int] = None) -> bytes:
    """Re-encode PNG bytes as ``output_format`` (png, jpeg, webp); PNG is returned unchanged."""
    pil_format = OUTPUT_FORMATS[output_format]
    if pil_format == "PNG":
        return png
    image = Image.open(io.BytesIO(png)).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, format=pil_format, quality=95 if quality is None else quality)
    return buffer.getvalue()


def b64(data: bytes) -> str:
    """Base64 text of ``data``."""
    return base64.b64encode(data).decode("ascii")
