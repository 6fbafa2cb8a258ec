"""Control-image preprocessors of the engine (sd-cli's --canny)."""
from __future__ import annotations

import numpy as np

from . import params as P
from ._ffi import ffi, lib
from .errors import InvalidArgument
from .images import ImageLike, rgb_array


def canny(image: ImageLike, high_threshold: float = 0.08, low_threshold: float = 0.08, weak: float = 0.8,
          strong: float = 1.0, inverse: bool = False) -> np.ndarray:
    """Canny edge map of ``image`` as a uint8 (H, W, 3) array, computed by the engine exactly as
    sd-cli's ``--canny`` does (its defaults), for use as a ControlNet control image."""
    pixels = rgb_array("image", image).copy()
    for name, value in (("high_threshold", high_threshold), ("low_threshold", low_threshold),
                        ("weak", weak), ("strong", strong)):
        P.check_float(name, value, 0.0, 1.0)
    if not isinstance(inverse, bool):
        raise InvalidArgument("inverse must be True or False")
    c_image = ffi.new("sd_image_t*")
    c_image.width, c_image.height, c_image.channel = pixels.shape[1], pixels.shape[0], 3
    c_image.data = ffi.cast("uint8_t*", ffi.from_buffer(pixels))
    if not lib.preprocess_canny(c_image[0], high_threshold, low_threshold, weak, strong, inverse):
        raise InvalidArgument("the engine could not compute the canny edge map of this image")
    return pixels
