"""Upscaler: an ESRGAN (RRDBNet) model loaded once and applied to images, closed deterministically."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Optional

import numpy as np
from PIL import Image as PILImage

from . import params as P
from ._callbacks import ActiveCall, active_call, image_to_array
from ._ffi import ffi, lib
from ._handle import EngineHandle
from .images import ImageLike, rgb_array
from .errors import GenerationError, InvalidArgument, ModelLoadError
from .models import model_format


MAX_FACTOR = 16
MAX_REPEATS = 8
MIN_TILE_SIZE = 16


class Upscaler(EngineHandle):
    """An ESRGAN upscaler (Real-ESRGAN and other RRDBNet models, as sd-cli's --upscale-model).

    Loading is done once; :meth:`upscale` can then be called many times. Close it with
    :meth:`close` or use it as a context manager; one upscale runs at a time per Upscaler
    (calls from several threads are serialised), and the GIL is released while the engine works.

    Args:
        model_path: the ESRGAN model (``.pth``, ``.safetensors`` or GGUF), in BasicSR names
            (``conv_first``, ``body.N.rdbM.convK``, ...) or old ESRGAN names (``model.N``).
        threads: CPU threads; -1 means the number of physical cores.
        tile_size: upscale in tiles of this many input pixels per side (memory stays bounded);
            0 processes the whole image at once.
        conv_direct: use direct 2-D convolutions instead of im2col (less memory, sometimes slower).

    Raises:
        InvalidArgument: a bad argument (before any engine call).
        ModelLoadError: the file is not a model, or the engine could not load it as an ESRGAN.
    """

    _free_engine_object = lib.free_upscaler_ctx
    _kind = "Upscaler"

    def __init__(
        self,
        model_path: P.PathLike,
        *,
        threads: int = -1,
        tile_size: int = 128,
        conv_direct: bool = False,
    ) -> None:
        super().__init__()
        encoded = P.check_file("model_path", model_path)
        n_threads = P.check_int("threads", threads, -1, 1024)
        if n_threads == 0:
            raise InvalidArgument("threads must be positive, or -1 for the number of physical cores")
        tile_size = P.check_int("tile_size", tile_size, 0, P.MAX_SIDE)
        if 0 < tile_size < MIN_TILE_SIZE:
            raise InvalidArgument(f"tile_size must be 0 (no tiling) or at least {MIN_TILE_SIZE}, got {tile_size}")
        if not isinstance(conv_direct, bool):
            raise InvalidArgument("conv_direct must be True or False")
        model_format(Path(os.fspath(model_path)))
        if n_threads < 0:
            n_threads = max(1, int(lib.sd_get_num_physical_cores()))
        self.threads = n_threads
        self.tile_size = tile_size
        self.model_path = os.fspath(model_path)

        call = ActiveCall()
        with active_call(call):
            ptr = lib.new_upscaler_ctx(encoded, False, conv_direct, n_threads, tile_size)
        if call.error is not None:
            if ptr != ffi.NULL:
                lib.free_upscaler_ctx(ptr)
            raise call.error
        if ptr == ffi.NULL:
            raise ModelLoadError(f"the engine could not load {self.model_path} as an ESRGAN upscaler",
                                 call.engine_log)
        self._ptr = ptr
        self._scale = int(lib.get_upscale_factor(ptr))


    # -- upscaling -------------------------------------------------------------------------------

    @property
    def scale(self) -> int:
        """The model's own upscale factor (1, 2 or 4), read from its layout."""
        self._require_open()
        return self._scale

    def upscale(self, image: ImageLike, factor: Optional[int] = None, repeats: int = 1) -> np.ndarray:
        """Upscale ``image`` and return a new uint8 array of shape (H * f, W * f, 3), f = factor ** repeats.

        Args:
            image: a uint8 (H, W, 3) array or a PIL image (RGBA and gray are converted to RGB;
                alpha is dropped).
            factor: the size multiplier of each pass; None means the model's :attr:`scale`.
                Another factor runs the model and then resizes its output (Lanczos) to exactly
                ``factor`` times the pass's input size.
            repeats: run this many passes, each on the previous pass's output
                (sd-cli's --upscale-repeats).

        Raises:
            InvalidArgument: a bad argument, or an output larger than
                :data:`sdcpp.params.MAX_SIDE` pixels per side (before any engine call).
            ContextClosedError: the Upscaler is closed.
            GenerationError: the engine failed; the message carries its log.
        """
        pixels = _rgb_pixels("image", image)
        if factor is not None:
            factor = P.check_int("factor", factor, 1, MAX_FACTOR)
        repeats = P.check_int("repeats", repeats, 1, MAX_REPEATS)
        with self._lock:
            ptr = self._require_open()
            step = self._scale if factor is None else factor
            height, width = pixels.shape[:2]
            total = step ** repeats
            if max(height, width) * total > P.MAX_SIDE:
                raise InvalidArgument(
                    f"the result would be {width * total}x{height * total} pixels; "
                    f"the limit is {P.MAX_SIDE} per side")
            for _ in range(repeats):
                pixels = self._run(ptr, pixels)
                target = (pixels.shape[1] // self._scale * step, pixels.shape[0] // self._scale * step)
                if (pixels.shape[1], pixels.shape[0]) != target:
                    resized = PILImage.fromarray(pixels).resize(target, PILImage.Resampling.LANCZOS)
                    pixels = np.ascontiguousarray(np.asarray(resized, dtype=np.uint8))
        return pixels

    def _run(self, ptr: Any, pixels: np.ndarray) -> np.ndarray:
        """One engine pass; the engine's buffer is copied into numpy and freed at once."""
        height, width = pixels.shape[:2]
        c_image = ffi.new("sd_image_t*")
        c_image.width = width
        c_image.height = height
        c_image.channel = 3
        buffer = ffi.from_buffer(pixels)
        c_image.data = ffi.cast("uint8_t*", buffer)
        call = ActiveCall()
        with active_call(call):
            result = lib.upscale(ptr, c_image[0], self._scale)  # cffi releases the GIL here
        try:
            if call.error is not None:
                raise call.error
            expected = (height * self._scale, width * self._scale)
            if result.data == ffi.NULL or (int(result.height), int(result.width)) != expected \
                    or int(result.channel) != 3:
                raise GenerationError("the engine failed to upscale the image", call.engine_log)
            return image_to_array(result)
        finally:
            if result.data != ffi.NULL:
                lib.free(result.data)


def _rgb_pixels(name: str, image: object) -> np.ndarray:
    """A C-contiguous uint8 (H, W, 3) copy of a numpy array or PIL image, within the side limit."""
    array = rgb_array(name, image)
    if max(array.shape[:2]) > P.MAX_SIDE:
        raise InvalidArgument(f"{name} is {array.shape[1]}x{array.shape[0]}; the limit is {P.MAX_SIDE} per side")
    return array


def upscale(
    model: P.PathLike,
    image: ImageLike,
    factor: Optional[int] = None,
    repeats: int = 1,
    *,
    threads: int = -1,
    tile_size: int = 128,
    conv_direct: bool = False,
) -> np.ndarray:
    """Load the ESRGAN ``model``, upscale ``image``, close the model, return the uint8 (H*f, W*f, 3) array.

    A convenience for one-off use; keep an :class:`Upscaler` to upscale more than one image.
    Arguments are those of :class:`Upscaler` and :meth:`Upscaler.upscale`; the image is checked
    before the model is loaded.
    """
    _rgb_pixels("image", image)
    if factor is not None:
        P.check_int("factor", factor, 1, MAX_FACTOR)
    P.check_int("repeats", repeats, 1, MAX_REPEATS)
    with Upscaler(model, threads=threads, tile_size=tile_size, conv_direct=conv_direct) as upscaler:
        return upscaler.upscale(image, factor=factor, repeats=repeats)
