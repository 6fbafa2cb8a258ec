"""Context: one loaded model, kept in memory across generations, closed deterministically."""
from __future__ import annotations

import dataclasses
import os
import secrets
import threading
from pathlib import Path
from types import TracebackType
from typing import Any, Mapping, Optional, Union

import numpy as np
from PIL import Image as PILImage

from . import params as P
from .cache import (
    CACHE_MODES,
    UPSTREAM_CACHE_MODES,
    CacheStats,
    DeepCache,
    deepcache_from_options,
    fill_deepcache,
    fill_upstream_cache,
    model_evaluations,
    parse_cache_options,
)
from ._callbacks import ActiveCall, PreviewCallback, ProgressCallback, active_call, image_to_array
from ._ffi import ffi, lib
from .errors import (
    ContextClosedError,
    GenerationCancelled,
    GenerationError,
    InvalidArgument,
    ModelLoadError,
)
from .models import model_format

ImageLike = Union[np.ndarray, PILImage.Image]
"""An image given to the engine: a uint8 (H, W, 3) array or a PIL image."""

SEED_RANDOM = -1
_MAX_SEED = 2**63 - 1


@dataclasses.dataclass(frozen=True)
class GenerationResult:
    """The images of one generation and the parameters that were actually used.

    ``images`` are uint8 arrays of shape (H, W, 3), one per batch image; ``seeds`` holds each
    image's seed (the engine uses seed + i for the i-th image of a batch).
    """

    images: list[np.ndarray]
    seeds: list[int]
    params: dict[str, Any]
    cache_stats: CacheStats = CacheStats(0, 0)


class Context:
    """A loaded Stable Diffusion model.

    Loading takes seconds and gigabytes, so a Context is meant to be reused for many generations.
    Close it with :meth:`close` or use it as a context manager; one generation runs at a time
    per Context (calls from several threads are serialised).

    Args:
        model: single-file model (GGUF, safetensors or .ckpt) holding U-Net, VAE and text encoders.
        diffusion_model: a standalone diffusion model file (instead of ``model``).
        vae: a separate VAE file that replaces the model's own.
        taesd: a tiny autoencoder (TAESD) used for decoding instead of the VAE.
        clip_l, clip_g, t5xxl: separate text encoder files.
        threads: CPU threads; -1 means the number of physical cores.
        weight_type: run the weights in this type (e.g. ``"q8_0"``); None keeps the file's types.
        rng: the noise generator, ``"cuda"`` (sd-cli's default, matches A1111) or ``"std_default"``.
        flash_attn: use flash attention in the diffusion model.
        vae_tiling: decode in tiles to save memory.
        mmap: memory-map the model file.
    """

    def __init__(
        self,
        model: Optional[P.PathLike] = None,
        *,
        diffusion_model: Optional[P.PathLike] = None,
        vae: Optional[P.PathLike] = None,
        taesd: Optional[P.PathLike] = None,
        clip_l: Optional[P.PathLike] = None,
        clip_g: Optional[P.PathLike] = None,
        t5xxl: Optional[P.PathLike] = None,
        threads: int = -1,
        weight_type: Optional[str] = None,
        rng: str = "cuda",
        flash_attn: bool = False,
        vae_tiling: bool = False,
        mmap: bool = False,
    ) -> None:
        self._ptr: Any = None
        self._lock = threading.RLock()
        self._current: Optional[ActiveCall] = None
        if model is None and diffusion_model is None:
            raise InvalidArgument("give a model file (model=...) or a diffusion model (diffusion_model=...)")
        paths = {
            "model": model, "diffusion_model": diffusion_model, "vae": vae, "taesd": taesd,
            "clip_l": clip_l, "clip_g": clip_g, "t5xxl": t5xxl,
        }
        encoded = {name: P.check_file(name, value) for name, value in paths.items()}
        for name, value in paths.items():
            if value is not None:
                model_format(Path(os.fspath(value)))
        n_threads = P.check_int("threads", threads, -1, 1024)
        if n_threads == 0:
            raise InvalidArgument("threads must be positive, or -1 for the number of physical cores")
        wtype = lib.SD_TYPE_COUNT if weight_type is None else P.weight_type_value(weight_type)
        rng_type = P.rng_value(rng)
        for name, flag in (("flash_attn", flash_attn), ("vae_tiling", vae_tiling), ("mmap", mmap)):
            if not isinstance(flag, bool):
                raise InvalidArgument(f"{name} must be True or False")

        strings = P.CStrings()
        c_params = ffi.new("sd_ctx_params_t*")
        lib.sd_ctx_params_init(c_params)
        c_params.model_path = strings(encoded["model"])
        c_params.diffusion_model_path = strings(encoded["diffusion_model"])
        c_params.vae_path = strings(encoded["vae"])
        c_params.taesd_path = strings(encoded["taesd"])
        c_params.clip_l_path = strings(encoded["clip_l"])
        c_params.clip_g_path = strings(encoded["clip_g"])
        c_params.t5xxl_path = strings(encoded["t5xxl"])
        c_params.vae_decode_only = False
        c_params.free_params_immediately = False
        if n_threads > 0:
            c_params.n_threads = n_threads
        c_params.wtype = wtype
        c_params.rng_type = rng_type
        c_params.flash_attn = flash_attn
        c_params.diffusion_flash_attn = flash_attn
        c_params.enable_mmap = mmap
        self._vae_tiling = vae_tiling
        self.threads = int(c_params.n_threads)
        self.model_paths = {name: os.fspath(value) for name, value in paths.items() if value is not None}

        call = ActiveCall()
        with active_call(call):
            ptr = lib.new_sd_ctx(c_params)
        if call.error is not None:
            if ptr != ffi.NULL:
                lib.free_sd_ctx(ptr)
            raise call.error
        if ptr == ffi.NULL:
            raise ModelLoadError("the engine could not load the model", call.engine_log)
        self._ptr = ptr

    # -- lifetime -------------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        """True once :meth:`close` has run."""
        return self._ptr is None

    def close(self) -> None:
        """Free the model now. A generation running in another thread is cancelled first."""
        current = self._current
        if current is not None:
            current.cancel()
        with self._lock:
            if self._ptr is not None:
                lib.free_sd_ctx(self._ptr)
                self._ptr = None

    def __enter__(self) -> "Context":
        return self

    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.close()

    def __del__(self) -> None:
        if getattr(self, "_ptr", None) is not None:
            lib.free_sd_ctx(self._ptr)
            self._ptr = None

    def _require_open(self) -> Any:
        if self._ptr is None:
            raise ContextClosedError("this Context is closed")
        return self._ptr

    # -- generation ------------------------------------------------------------------------------

    def cancel(self) -> None:
        """Stop the generation running on this Context (from any thread).

        The generation raises :class:`GenerationCancelled` within one sampling step and the
        Context stays usable.
        """
        current = self._current
        if current is not None:
            current.cancel()

    @property
    def deepcache_max_depth(self) -> Optional[int]:
        """The largest DeepCache depth this model allows (11 for SD1.x/SD2.x, 8 for SDXL), or
        None when the diffusion model is not a U-Net (DeepCache then does nothing)."""
        depth = int(lib.sd_deepcache_max_depth(self._require_open()))
        return None if depth < 0 else depth

    def default_sampling_method(self) -> str:
        """The sampling method the engine picks for this model when none is given."""
        return P.sampling_methods()[int(lib.sd_get_default_sample_method(self._require_open()))]

    def generate(
        self,
        prompt: str,
        negative_prompt: str = "",
        *,
        width: Optional[int] = None,
        height: Optional[int] = None,
        steps: int = P.DEFAULT_STEPS,
        cfg_scale: float = P.DEFAULT_CFG_SCALE,
        seed: int = P.DEFAULT_SEED,
        sampling_method: Optional[str] = None,
        scheduler: Optional[str] = None,
        batch_count: int = 1,
        clip_skip: int = -1,
        init_image: Optional[ImageLike] = None,
        strength: float = P.DEFAULT_STRENGTH,
        deepcache: Union[DeepCache, int, str, None] = None,
        cache_mode: Optional[str] = None,
        cache_options: Union[str, Mapping[str, Any], None] = None,
        progress: Optional[ProgressCallback] = None,
        preview: Optional[PreviewCallback] = None,
    ) -> GenerationResult:
        """Generate images from text and return them with the parameters used.

        Args:
            prompt: what to draw.
            negative_prompt: what to avoid (used when ``cfg_scale`` > 1).
            width, height: image size in pixels, multiples of 8; default 512, or the size of
                ``init_image``.
            steps: sampling steps.
            cfg_scale: classifier-free guidance scale; 1 disables the unconditional pass.
            seed: RNG seed; -1 picks a random one (reported in the result).
            sampling_method: one of :func:`sdcpp.sampling_methods`; None = the model's default.
            scheduler: one of :func:`sdcpp.schedulers`; None = the sampling method's default.
            batch_count: number of images; image i uses seed + i.
            clip_skip: CLIP layers to skip; -1 = the model's default.
            init_image: start from this image (img2img): a uint8 (H, W, 3) array or a PIL image
                of size ``width`` x ``height``.
            strength: img2img denoising strength in [0, 1]; 1 ignores the init image's content.
            deepcache: DeepCache settings (a :class:`DeepCache`, an int interval, or
                ``"interval,depth,start,end"``); the result's ``cache_stats`` counts full and
                reused model evaluations.
            cache_mode: one of upstream's step caches (``"ucache"``, ``"spectrum"``, ``"easycache"``,
                ``"dbcache"``, ``"taylorseer"``, ``"cache-dit"``) or ``"deepcache"``.
            cache_options: sd-cli's --cache-option text (``"threshold=0.2,start=0.1"``) or a mapping.
            progress: called as ``progress(step, steps, seconds_per_step)``; raising cancels.
            preview: called as ``preview(step, images, is_noisy)`` with intermediate images.

        Raises:
            InvalidArgument: a bad argument (before any engine call).
            GenerationCancelled: :meth:`cancel` was called.
            GenerationError: the engine failed; the message carries its log.
        """
        strings = P.CStrings()
        prompt_bytes = P.check_text("prompt", prompt)
        negative_bytes = P.check_text("negative_prompt", negative_prompt)
        init_pixels = None if init_image is None else _rgb_pixels("init_image", init_image)
        if init_pixels is not None:
            width = init_pixels.shape[1] if width is None else width
            height = init_pixels.shape[0] if height is None else height
        width = P.check_side("width", P.DEFAULT_WIDTH if width is None else width)
        height = P.check_side("height", P.DEFAULT_HEIGHT if height is None else height)
        if init_pixels is not None and init_pixels.shape[:2] != (height, width):
            raise InvalidArgument(f"init_image is {init_pixels.shape[1]}x{init_pixels.shape[0]}, "
                                  f"not {width}x{height}: resize it first")
        strength = P.check_float("strength", strength, 0.0, 1.0)
        steps = P.check_int("steps", steps, 1, P.MAX_STEPS)
        cfg_scale = P.check_float("cfg_scale", cfg_scale, 0.0, 1000.0)
        batch_count = P.check_int("batch_count", batch_count, 1, 1000)
        clip_skip = P.check_int("clip_skip", clip_skip, -1, 100)
        seed = P.check_int("seed", seed, -1, _MAX_SEED)
        if seed == SEED_RANDOM:
            seed = secrets.randbelow(_MAX_SEED - batch_count)
        method = None if sampling_method is None else P.sampling_method_value(sampling_method)
        sched = None if scheduler is None else P.scheduler_value(scheduler)
        deepcache_settings = _resolve_cache(deepcache, cache_mode, cache_options)
        for name, callback in (("progress", progress), ("preview", preview)):
            if callback is not None and not callable(callback):
                raise InvalidArgument(f"{name} must be callable")

        c_params = ffi.new("sd_img_gen_params_t*")
        lib.sd_img_gen_params_init(c_params)
        c_params.prompt = strings(prompt_bytes)
        c_params.negative_prompt = strings(negative_bytes)
        c_params.width = width
        c_params.height = height
        c_params.seed = seed
        c_params.batch_count = batch_count
        c_params.clip_skip = clip_skip
        c_params.sample_params.sample_steps = steps
        c_params.sample_params.guidance.txt_cfg = cfg_scale
        c_params.vae_tiling_params.enabled = self._vae_tiling
        c_params.strength = strength
        if init_pixels is not None:
            c_params.init_image.width = width
            c_params.init_image.height = height
            c_params.init_image.channel = 3
            c_params.init_image.data = ffi.cast("uint8_t*", strings.keep(ffi.from_buffer(init_pixels)))

        with self._lock:
            ptr = self._require_open()
            if method is None:
                method = int(lib.sd_get_default_sample_method(ptr))
            if sched is None:
                sched = int(lib.sd_get_default_scheduler(ptr, method))
            c_params.sample_params.sample_method = method
            c_params.sample_params.scheduler = sched
            if deepcache_settings is not None:
                sampled_steps = steps if init_pixels is None else img2img_steps(steps, strength)
                evaluations = model_evaluations(P.sampling_methods()[method], sampled_steps)
                deepcache_settings.validate_for(int(lib.sd_deepcache_max_depth(ptr)), evaluations)
                fill_deepcache(c_params.cache, deepcache_settings)
            elif cache_mode not in (None, "disabled"):
                fill_upstream_cache(c_params.cache, cache_mode, parse_cache_options(cache_options))
            images = self._run(ptr, c_params, batch_count, progress, preview)
            c_stats = ffi.new("sd_cache_stats_t*")
            lib.sd_get_cache_stats(ptr, c_stats)
            stats = CacheStats(int(c_stats.full_evaluations), int(c_stats.reused_evaluations))
        # The engine rounds sizes up to what the model needs (a multiple of 64 for SD U-Nets);
        # hand back the size that was asked for.
        images = [_center_crop(image, height, width) for image in images]

        used = {
            "prompt": prompt, "negative_prompt": negative_prompt, "width": width, "height": height,
            "steps": steps, "cfg_scale": cfg_scale, "seed": seed, "batch_count": batch_count,
            "sampling_method": P.sampling_methods()[method], "scheduler": P.schedulers()[sched],
            "clip_skip": clip_skip,
            "strength": strength if init_pixels is not None else None,
            "deepcache": None if deepcache_settings is None else str(deepcache_settings),
            "cache_mode": "deepcache" if deepcache_settings is not None else (cache_mode or "disabled"),
        }
        return GenerationResult(images=images, seeds=[seed + i for i in range(batch_count)], params=used,
                                cache_stats=stats)

    def txt2img(self, prompt: str, negative_prompt: str = "", **options: Any) -> Union[np.ndarray, list[np.ndarray]]:
        """Generate an image from text: a uint8 array (H, W, 3), or a list when batch_count > 1.

        Takes the same keyword arguments as :meth:`generate`.
        """
        result = self.generate(prompt, negative_prompt, **options)
        return result.images[0] if len(result.images) == 1 else result.images

    def _run(
        self,
        ptr: Any,
        c_params: Any,
        batch_count: int,
        progress: Optional[ProgressCallback],
        preview: Optional[PreviewCallback],
    ) -> list[np.ndarray]:
        call = ActiveCall(ptr, progress, preview)
        if preview is not None:
            lib.sd_set_preview_callback(lib._sdcpp_on_preview, lib.PREVIEW_PROJ, 1, True, False, ffi.NULL)
        self._current = call
        try:
            with active_call(call):
                result = lib.generate_image(ptr, c_params)  # cffi releases the GIL here
        finally:
            self._current = None
            if preview is not None:
                lib.sd_set_preview_callback(ffi.NULL, lib.PREVIEW_NONE, 1, False, False, ffi.NULL)
        images = _take_images(result, batch_count)
        if call.error is not None:
            # An exception raised in a callback (KeyboardInterrupt included) stopped the
            # generation: re-raise it as it was.
            raise call.error
        if call.cancel_requested:
            raise GenerationCancelled("generation cancelled")
        if result == ffi.NULL or len(images) != batch_count:
            raise GenerationError("the engine failed to generate an image", call.engine_log)
        return images


def img2img_steps(steps: int, strength: float) -> int:
    """Sampling steps the engine runs for img2img (it keeps int(steps * strength) + 1 sigmas)."""
    if strength >= 1.0:
        return steps
    return min(int(steps * strength), steps - 1) + 1


def _rgb_pixels(name: str, image: ImageLike) -> np.ndarray:
    """A C-contiguous uint8 (H, W, 3) copy of a numpy array or PIL image."""
    if isinstance(image, PILImage.Image):
        return np.ascontiguousarray(np.asarray(image.convert("RGB"), dtype=np.uint8))
    if not isinstance(image, np.ndarray):
        raise InvalidArgument(f"{name} must be a numpy array or a PIL image, not {type(image).__name__}")
    if image.dtype != np.uint8:
        raise InvalidArgument(f"{name} must have dtype uint8, not {image.dtype}")
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] not in (3, 4):
        raise InvalidArgument(f"{name} must have shape (H, W, 3), got {image.shape}")
    return np.ascontiguousarray(image[:, :, :3])


def _resolve_cache(
    deepcache: Union[DeepCache, int, str, None],
    cache_mode: Optional[str],
    cache_options: Union[str, Mapping[str, Any], None],
) -> Optional[DeepCache]:
    """Validate the cache arguments; return the DeepCache settings when DeepCache is asked for."""
    if cache_mode is not None and cache_mode not in CACHE_MODES:
        raise InvalidArgument(f"unknown cache mode {cache_mode!r}; choose one of: {', '.join(CACHE_MODES)}")
    if deepcache is not None:
        if cache_mode not in (None, "deepcache"):
            raise InvalidArgument(f"deepcache= and cache_mode={cache_mode!r} exclude each other: pick one cache")
        return DeepCache.coerce(deepcache)
    if cache_mode == "deepcache":
        return deepcache_from_options(parse_cache_options(cache_options))
    if cache_mode in UPSTREAM_CACHE_MODES:
        parse_cache_options(cache_options)  # syntax errors surface before the engine runs
    elif cache_options is not None and cache_mode is None:
        raise InvalidArgument("cache_options needs a cache_mode")
    return None


def _center_crop(image: np.ndarray, height: int, width: int) -> np.ndarray:
    top = max(0, (image.shape[0] - height) // 2)
    left = max(0, (image.shape[1] - width) // 2)
    return np.ascontiguousarray(image[top:top + height, left:left + width])


def _take_images(result: Any, count: int) -> list[np.ndarray]:
    """Copy the engine's images into numpy arrays and free the engine's memory at once."""
    if result == ffi.NULL:
        return []
    images = []
    try:
        for index in range(count):
            image = result[index]
            if image.data != ffi.NULL:
                array = image_to_array(image)
                images.append(array[:, :, :3] if array.shape[2] >= 3 else np.repeat(array, 3, axis=2))
    finally:
        for index in range(count):
            if result[index].data != ffi.NULL:
                lib.free(result[index].data)
        lib.free(result)
    return images


def txt2img(model: P.PathLike, prompt: str, negative_prompt: str = "", *, vae: Optional[P.PathLike] = None,
            threads: int = -1, **options: Any) -> Union[np.ndarray, list[np.ndarray]]:
    """Load ``model``, generate from ``prompt``, close the model, return the image(s).

    A convenience for one-off use; keep a :class:`Context` to generate more than once.
    Keyword arguments are those of :meth:`Context.generate`.
    """
    with Context(model, vae=vae, threads=threads) as context:
        return context.txt2img(prompt, negative_prompt, **options)
