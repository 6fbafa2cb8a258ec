"""Check a :class:`sdcpp.GenerationRequest`, fill the engine's ``sd_img_gen_params_t`` from it,
and report what was used.

Checking runs when the request is built, before any engine call, so a bad argument is an
:class:`InvalidArgument` naming it, never a crash or a silently different image.
"""
from __future__ import annotations

import dataclasses
import math
import os
from typing import Any, Optional, Sequence

import numpy as np

from . import params as P
from ._ffi import ffi, lib
from .cache import (
    CACHE_MODES,
    STACKABLE_CACHE_MODES,
    DeepCache,
    deepcache_from_options,
    fill_deepcache,
    fill_upstream_cache,
    parse_cache_options,
)
from .errors import InvalidArgument
from .images import aligned, center_crop, check_output_format, mask_array, pad_to, rgb_array
from .loras import Lora, coerce_loras

# The engine rounds sizes up to a multiple of (VAE factor x diffusion model factor): 64 for SD
# U-Nets, 16 or 32 for DiTs. Images we hand over are padded to a multiple of 64, which is a
# multiple of all of them, so the engine never stretches them.
SIZE_GRID = 64
MAX_PIXELS = 8192 * 8192
MAX_BATCH = 1000
# Prompts are encoded 75 tokens at a time; 64 KiB is ~16k tokens, far beyond any real prompt,
# and still encodes in seconds.
MAX_PROMPT_BYTES = 64 * 1024

# Samplers whose default eta is 1 (stable-diffusion.cpp, resolve_eta); every other default is 0.
ETA_ONE_METHODS = frozenset({"euler_a", "dpm++2s_a", "er_sde"})


def default_eta(sampling_method: str) -> float:
    """The eta the engine uses for ``sampling_method`` when none is given."""
    return 1.0 if sampling_method in ETA_ONE_METHODS else 0.0


@dataclasses.dataclass(frozen=True)
class HiresFix:
    """Validated highres-fix settings (sd-cli's --hires-* options) and the final image size."""

    upscaler: str
    model_path: Optional[str]
    scale: float
    width: int
    height: int
    steps: int
    denoising_strength: float

    def as_dict(self) -> dict[str, Any]:
        """The settings as reported in :attr:`GenerationResult.params`."""
        return dataclasses.asdict(self)


def check_size(width: Optional[int], height: Optional[int], default_from: Optional[np.ndarray]) -> tuple[int, int]:
    """Width and height (defaults: the init image's size, else 512x512), checked and bounded."""
    if default_from is not None:
        width = default_from.shape[1] if width is None else width
        height = default_from.shape[0] if height is None else height
    width = P.check_side("width", P.DEFAULT_WIDTH if width is None else width)
    height = P.check_side("height", P.DEFAULT_HEIGHT if height is None else height)
    if width * height > MAX_PIXELS:
        raise InvalidArgument(f"{width}x{height} is {width * height} pixels; the limit is {MAX_PIXELS}")
    return width, height


def check_hires(enabled: object, upscaler: object, scale: object, width: object, height: object, steps: object,
                denoising_strength: object, base_width: int, base_height: int) -> Optional[HiresFix]:
    """Validate the hires options (all of them, even when the fix is off); None when it is off."""
    if not isinstance(enabled, bool):
        raise InvalidArgument("hires must be True or False")
    if not isinstance(upscaler, str) or not upscaler:
        raise InvalidArgument("hires_upscaler must be an upscaler name or the path of an ESRGAN model")
    hires_scale = P.check_float("hires_scale", scale, 0.0, 16.0)
    target_w = P.check_int("hires_width", width, 0, P.MAX_SIDE)
    target_h = P.check_int("hires_height", height, 0, P.MAX_SIDE)
    hires_steps = P.check_int("hires_steps", steps, 0, P.MAX_STEPS)
    strength = P.check_float("hires_denoising_strength", denoising_strength, 0.0, 1.0)
    if not enabled:
        return None
    model_path: Optional[str] = None
    if upscaler not in P.hires_upscalers() or upscaler == "Model":
        if upscaler == "Model":
            raise InvalidArgument("hires_upscaler='Model': give the path of the ESRGAN model instead")
        encoded = P.check_file("hires_upscaler", upscaler) if ("/" in upscaler or "." in upscaler) else None
        if encoded is None:
            raise InvalidArgument(f"unknown hires upscaler {upscaler!r}; choose one of: "
                                  f"{', '.join(n for n in P.hires_upscalers() if n != 'Model')}, "
                                  "or give the path of an ESRGAN model")
        model_path, upscaler = upscaler, "Model"
    if target_w == 0 and target_h == 0:
        if hires_scale <= 0:
            raise InvalidArgument("hires needs hires_scale > 0 or a hires_width/hires_height")
        target_w = int(round(base_width * hires_scale))
        target_h = int(round(base_height * hires_scale))
    elif target_w == 0:
        target_w = int(round(base_width * target_h / base_height))
    elif target_h == 0:
        target_h = int(round(base_height * target_w / base_width))
    target_w, target_h = max(8, target_w - target_w % 8), max(8, target_h - target_h % 8)
    if target_w * target_h > MAX_PIXELS:
        raise InvalidArgument(f"the hires target {target_w}x{target_h} exceeds {MAX_PIXELS} pixels")
    return HiresFix(upscaler, model_path, hires_scale, target_w, target_h, hires_steps, strength)


def check_sigmas(sigmas: object) -> Optional[list[float]]:
    """Custom sigmas: a decreasing sequence of >= 2 finite non-negative numbers."""
    if sigmas is None:
        return None
    if isinstance(sigmas, str):
        try:
            sigmas = [float(part) for part in sigmas.split(",") if part.strip()]
        except ValueError:
            raise InvalidArgument(f"sigmas {sigmas!r}: expected comma-separated numbers") from None
    if not isinstance(sigmas, (list, tuple, np.ndarray)):
        raise InvalidArgument(f"sigmas must be a sequence of numbers, not {type(sigmas).__name__}")
    values = [P.check_float("sigma", float(v) if isinstance(v, np.floating) else v, 0.0, 1e4) for v in sigmas]
    if not 2 <= len(values) <= P.MAX_STEPS + 1:
        raise InvalidArgument(f"sigmas needs between 2 and {P.MAX_STEPS + 1} values, got {len(values)}")
    if any(b > a for a, b in zip(values, values[1:])):
        raise InvalidArgument("sigmas must not increase (from the noisiest to 0)")
    return values


def check_layers(name: str, layers: object) -> list[int]:
    """A list of small non-negative layer indices."""
    if not isinstance(layers, (list, tuple)):
        raise InvalidArgument(f"{name} must be a list of layer indices")
    return [P.check_int(name, layer, 0, 1000) for layer in layers]


def check_images(name: str, images: object) -> list[np.ndarray]:
    """A list of RGB images (or None for none)."""
    if images is None:
        return []
    if not isinstance(images, (list, tuple)):
        raise InvalidArgument(f"{name} must be a list of images")
    return [rgb_array(f"{name}[{index}]", image) for index, image in enumerate(images)]


class CImages:
    """Keeps the pixel buffers handed to one engine call alive and builds ``sd_image_t`` values."""

    def __init__(self) -> None:
        self._keep: list[object] = []

    def fill(self, target: Any, pixels: np.ndarray) -> None:
        """Point the ``sd_image_t`` ``target`` at ``pixels`` ((H, W, 3) or (H, W) uint8)."""
        pixels = np.ascontiguousarray(pixels)
        self._keep.append(pixels)
        target.width = pixels.shape[1]
        target.height = pixels.shape[0]
        target.channel = 1 if pixels.ndim == 2 else pixels.shape[2]
        target.data = ffi.cast("uint8_t*", ffi.from_buffer(pixels))

    def array(self, images: Sequence[np.ndarray]) -> Any:
        """An ``sd_image_t[]`` for ``images`` (NULL when empty)."""
        if not images:
            return ffi.NULL
        c_images = ffi.new("sd_image_t[]", len(images))
        self._keep.append(c_images)
        for index, pixels in enumerate(images):
            self.fill(c_images[index], pixels)
        return c_images

    def loras(self, loras: Sequence[Lora], strings: P.CStrings) -> Any:
        """An ``sd_lora_t[]`` for ``loras`` (NULL when empty)."""
        if not loras:
            return ffi.NULL
        c_loras = ffi.new("sd_lora_t[]", len(loras))
        self._keep.append(c_loras)
        for index, lora in enumerate(loras):
            c_loras[index].is_high_noise = lora.high_noise
            c_loras[index].multiplier = lora.multiplier
            c_loras[index].path = strings(lora.path.encode())
        return c_loras

    def ints(self, values: Sequence[int]) -> Any:
        """An ``int[]`` (NULL when empty)."""
        if not values:
            return ffi.NULL
        array = ffi.new("int[]", list(values))
        self._keep.append(array)
        return array

    def floats(self, values: Sequence[float]) -> Any:
        """A ``float[]`` (NULL when empty)."""
        if not values:
            return ffi.NULL
        array = ffi.new("float[]", list(values))
        self._keep.append(array)
        return array


def engine_hires_target(hires: HiresFix, width: int, height: int, engine_w: int, engine_h: int) -> tuple[int, int]:
    """The hires target to give the engine when it renders ``engine_w`` x ``engine_h`` for a
    ``width`` x ``height`` request (the final image is cropped from its centre)."""
    return (int(math.ceil(engine_w * hires.width / width)), int(math.ceil(engine_h * hires.height / height)))


def crop_to(images: list[np.ndarray], height: int, width: int) -> list[np.ndarray]:
    """Crop every image to (height, width) around its centre."""
    return [center_crop(image, height, width) for image in images]


# -- one request, checked once ------------------------------------------------------------------

MAX_SEED = 2**63 - 1
SEED_RANDOM = -1

# Bounds (inclusive) of the numeric request fields; the hires_* fields are checked by check_hires.
_INT_BOUNDS: dict[str, tuple[int, int]] = {
    "steps": (1, P.MAX_STEPS), "timestep_shift": (0, 1000), "batch_count": (1, MAX_BATCH), "clip_skip": (-1, 100),
    "seed": (-1, MAX_SEED), "preview_interval": (1, P.MAX_STEPS),
}
_FLOAT_BOUNDS: dict[str, tuple[float, float]] = {
    "strength": (0.0, 1.0), "control_strength": (0.0, 10.0), "cfg_scale": (0.0, 1000.0),
    "guidance": (0.0, 1000.0), "slg_scale": (0.0, 100.0), "skip_layer_start": (0.0, 1.0),
    "skip_layer_end": (0.0, 1.0), "pm_style_strength": (0.0, 100.0), "vae_tile_overlap": (0.0, 0.99),
}
_OPTIONAL_FLOAT_BOUNDS: dict[str, tuple[float, float]] = {
    "img_cfg_scale": (0.0, 1000.0), "eta": (0.0, 100.0), "flow_shift": (-1000.0, 1000.0),
}
_BOOL_FIELDS = ("increase_ref_index", "auto_resize_ref_image", "preview_noisy")


@dataclasses.dataclass(frozen=True)
class Checked:
    """What checking a request derives from it: typed values the engine call needs."""

    width: int
    height: int
    loras: tuple[Lora, ...]
    sigmas: Optional[tuple[float, ...]]
    hires: Optional[HiresFix]
    deepcache: Optional[DeepCache]
    skip_layers: tuple[int, ...]
    vae_tile_size: tuple[int, int]
    sampling_method: Optional[int]
    scheduler: Optional[int]
    preview_mode: int


def frozen_image(pixels: np.ndarray) -> np.ndarray:
    """A read-only copy, so a request never changes after it was built."""
    copy = np.array(pixels, dtype=np.uint8, copy=True, order="C")
    copy.flags.writeable = False
    return copy


def resolve_cache(deepcache: object, cache_mode: object, cache_options: object) -> Optional[DeepCache]:
    """Validate the cache settings; return the DeepCache settings when DeepCache is asked for."""
    if cache_mode is not None and cache_mode not in CACHE_MODES:
        raise InvalidArgument(f"unknown cache mode {cache_mode!r}; choose one of: {', '.join(CACHE_MODES)}")
    options = parse_cache_options(cache_options)  # type: ignore[arg-type]  # refuses other types
    if deepcache is not None:
        if cache_mode not in (None, "deepcache", *STACKABLE_CACHE_MODES):
            raise InvalidArgument(f"deepcache= and cache_mode={cache_mode!r} exclude each other: DeepCache "
                                  f"stacks only with {', '.join(STACKABLE_CACHE_MODES)}")
        base = DeepCache.coerce(deepcache)  # type: ignore[arg-type]  # coerce refuses other types
        if cache_mode in STACKABLE_CACHE_MODES:
            return base  # the options are the step cache's own (checked when the struct is filled)
        # deepcache= with DeepCache's own options (schedule=quadratic, ...): they refine it.
        return deepcache_from_options(options, base=base) if options else base
    if cache_mode == "deepcache":
        return deepcache_from_options(options)
    if cache_options is not None and cache_mode is None:
        raise InvalidArgument("cache_options needs a cache_mode")
    return None


def _cache_options_text(options: object) -> Optional[str]:
    """``cache_options`` in sd-cli's ``key=value,...`` form (a mapping is written out in order)."""
    if options is None or isinstance(options, str):
        return options
    parsed = parse_cache_options(options)  # type: ignore[arg-type]
    for key, value in parsed.items():
        if "," in key + value or "=" in key:
            raise InvalidArgument(f"cache_options: key {key!r} / value {value!r} must not contain ',' (or '=' in keys)")
    return ",".join(f"{key}={value}" for key, value in parsed.items())


def check_request(request: Any) -> tuple[Checked, dict[str, Any]]:
    """Check every field of a :class:`sdcpp.GenerationRequest` that needs no loaded model.

    Returns the derived values and the fields' normalised values (floats as float, sequences as
    tuples, images as read-only uint8 arrays, LoRAs as :class:`Lora`, ``deepcache`` as
    :class:`DeepCache`). Raises :class:`InvalidArgument` naming the field.
    """
    r = request
    P.check_text("prompt", r.prompt, MAX_PROMPT_BYTES)
    P.check_text("negative_prompt", r.negative_prompt, MAX_PROMPT_BYTES)
    loras = tuple(coerce_loras(r.loras))
    init = None if r.init_image is None else frozen_image(rgb_array("init_image", r.init_image))
    mask = None if r.mask is None else frozen_image(mask_array("mask", r.mask))
    if mask is not None and init is None:
        raise InvalidArgument("mask needs an init_image (inpainting repaints parts of it)")
    control = None if r.control_image is None else frozen_image(rgb_array("control_image", r.control_image))
    width, height = check_size(r.width, r.height, init)
    for name, pixels in (("init_image", init), ("mask", mask)):
        if pixels is not None and pixels.shape[:2] != (height, width):
            raise InvalidArgument(f"{name} is {pixels.shape[1]}x{pixels.shape[0]}, not {width}x{height}: resize it first")
    normal: dict[str, Any] = {"init_image": init, "mask": mask, "control_image": control, "loras": loras}
    for name in ("ref_images", "pm_id_images"):
        normal[name] = tuple(frozen_image(image) for image in check_images(name, getattr(r, name)))
    embed = P.check_file("pm_id_embed_path", r.pm_id_embed_path)
    normal["pm_id_embed_path"] = None if embed is None else os.fsdecode(embed)
    for name, (low, high) in _FLOAT_BOUNDS.items():
        normal[name] = P.check_float(name, getattr(r, name), low, high)
    for name, (low, high) in _OPTIONAL_FLOAT_BOUNDS.items():
        value = getattr(r, name)
        normal[name] = None if value is None else P.check_float(name, value, low, high)
    for name, (low, high) in _INT_BOUNDS.items():
        P.check_int(name, getattr(r, name), low, high)
    if r.seed + r.batch_count - 1 > MAX_SEED:
        raise InvalidArgument(f"seed {r.seed} + batch_count {r.batch_count} overflows the 64-bit seed range")
    for name in _BOOL_FIELDS:
        if not isinstance(getattr(r, name), bool):
            raise InvalidArgument(f"{name} must be True or False")
    sigmas = check_sigmas(r.sigmas)
    method = None if r.sampling_method is None else P.sampling_method_value(r.sampling_method)
    sched = None if r.scheduler is None else P.scheduler_value(r.scheduler)
    hires = check_hires(r.hires, r.hires_upscaler, r.hires_scale, r.hires_width, r.hires_height, r.hires_steps,
                        r.hires_denoising_strength, width, height)
    normal["hires_scale"], normal["hires_denoising_strength"] = float(r.hires_scale), float(r.hires_denoising_strength)
    layers = tuple(check_layers("skip_layers", r.skip_layers))
    if r.vae_tiling is not None and not isinstance(r.vae_tiling, bool):
        raise InvalidArgument("vae_tiling must be True, False or None")
    tile_size = (0, 0) if r.vae_tile_size is None else r.vae_tile_size
    if not isinstance(tile_size, tuple) or len(tile_size) != 2:
        raise InvalidArgument("vae_tile_size must be a (x, y) pair of tile sizes in latent pixels")
    tile_x, tile_y = (P.check_int("vae_tile_size", side, 0, 4096) for side in tile_size)
    check_output_format(r.output_format)
    deepcache = resolve_cache(r.deepcache, r.cache_mode, r.cache_options)
    preview_mode = P.preview_mode_value(r.preview_method)
    normal.update(sigmas=None if sigmas is None else tuple(sigmas), skip_layers=layers,
                  vae_tile_size=None if r.vae_tile_size is None else (tile_x, tile_y),
                  deepcache=None if r.deepcache is None else deepcache,
                  cache_options=_cache_options_text(r.cache_options))
    checked = Checked(width, height, loras, normal["sigmas"], hires, deepcache, layers, (tile_x, tile_y),
                      method, sched, preview_mode)
    return checked, normal


# -- request -> sd_img_gen_params_t -------------------------------------------------------------

def padded_images(request: Any) -> dict[str, np.ndarray]:
    """The request's init image, mask and control image, padded to the engine's size grid (the
    control image is first stretched to the requested size when it differs, as sd-cli does)."""
    checked: Checked = request._checked
    width, height = checked.width, checked.height
    padded_w, padded_h = aligned(width, SIZE_GRID), aligned(height, SIZE_GRID)
    images: dict[str, np.ndarray] = {}
    for name in ("init_image", "mask", "control_image"):
        pixels = getattr(request, name)
        if pixels is None:
            continue
        if name == "control_image" and pixels.shape[:2] != (height, width):
            from PIL import Image

            pixels = np.asarray(Image.fromarray(pixels).resize((width, height), Image.Resampling.BILINEAR))
        images[name] = pad_to(pixels, padded_h, padded_w)
    return images


def engine_params(request: Any, prompt: str, loras: Sequence[Lora]) -> tuple[Any, object]:
    """The ``sd_img_gen_params_t`` for a resolved request (sampling method, scheduler and seed
    set), with ``prompt`` (its LoRA tags removed) and ``loras`` (tags and list together).

    Returns the struct and an object that keeps its strings and pixel buffers alive: hold it
    until the engine call returns.
    """
    r = request
    checked: Checked = r._checked
    strings, buffers = P.CStrings(), CImages()
    images = padded_images(r)
    # The engine's size: padded to the size grid when images go in (so they are not stretched)
    # or when the highres fix needs to know it; otherwise the engine rounds up by itself.
    engine_w, engine_h = checked.width, checked.height
    if images or checked.hires is not None:
        engine_w, engine_h = aligned(engine_w, SIZE_GRID), aligned(engine_h, SIZE_GRID)
    c = ffi.new("sd_img_gen_params_t*")
    lib.sd_img_gen_params_init(c)
    c.prompt, c.negative_prompt = strings(prompt.encode("utf-8")), strings(r.negative_prompt.encode("utf-8"))
    c.loras, c.lora_count = buffers.loras(loras, strings), len(loras)
    c.width, c.height, c.seed, c.batch_count, c.clip_skip = engine_w, engine_h, r.seed, r.batch_count, r.clip_skip
    sample = c.sample_params
    sample.sample_method, sample.scheduler = checked.sampling_method, checked.scheduler
    sample.sample_steps = r.steps
    sample.guidance.txt_cfg, sample.guidance.distilled_guidance = r.cfg_scale, r.guidance
    if r.img_cfg_scale is not None:
        sample.guidance.img_cfg = r.img_cfg_scale
    slg = sample.guidance.slg
    slg.scale, slg.layers, slg.layer_count = r.slg_scale, buffers.ints(checked.skip_layers), len(checked.skip_layers)
    slg.layer_start, slg.layer_end = r.skip_layer_start, r.skip_layer_end
    if r.eta is not None:
        sample.eta = r.eta
    if checked.sigmas is not None:
        sample.custom_sigmas, sample.custom_sigmas_count = buffers.floats(checked.sigmas), len(checked.sigmas)
    if r.flow_shift is not None:
        sample.flow_shift = r.flow_shift
    sample.shifted_timestep = r.timestep_shift
    c.strength, c.control_strength = r.strength, r.control_strength
    for name, target in (("init_image", c.init_image), ("mask", c.mask_image), ("control_image", c.control_image)):
        if name in images:
            buffers.fill(target, images[name])
    c.ref_images, c.ref_images_count = buffers.array(r.ref_images), len(r.ref_images)
    c.increase_ref_index, c.auto_resize_ref_image = r.increase_ref_index, r.auto_resize_ref_image
    pm = c.pm_params
    pm.id_images, pm.id_images_count = buffers.array(r.pm_id_images), len(r.pm_id_images)
    pm.id_embed_path = strings(None if r.pm_id_embed_path is None else os.fsencode(r.pm_id_embed_path))
    pm.style_strength = r.pm_style_strength
    tiling = c.vae_tiling_params
    tiling.enabled, (tiling.tile_size_x, tiling.tile_size_y) = bool(r.vae_tiling), checked.vae_tile_size
    tiling.target_overlap = r.vae_tile_overlap
    if checked.hires is not None:
        _fill_hires(c.hires, checked.hires, checked.width, checked.height, engine_w, engine_h, strings)
    if checked.deepcache is not None:
        stacked = r.cache_mode if r.cache_mode in STACKABLE_CACHE_MODES else None
        fill_deepcache(c.cache, checked.deepcache, stacked,
                       parse_cache_options(r.cache_options) if stacked is not None else None)
    elif r.cache_mode not in (None, "disabled"):
        fill_upstream_cache(c.cache, r.cache_mode, parse_cache_options(r.cache_options))
    return c, (strings, buffers)


def _fill_hires(target: Any, hires: HiresFix, width: int, height: int, engine_w: int, engine_h: int,
                strings: P.CStrings) -> None:
    target.enabled = True
    target.upscaler = P.hires_upscaler_value(hires.upscaler)
    target.model_path = strings(None if hires.model_path is None else os.fsencode(hires.model_path))
    target.scale = hires.scale
    target.target_width, target.target_height = engine_hires_target(hires, width, height, engine_w, engine_h)
    target.steps = hires.steps
    target.denoising_strength = hires.denoising_strength


# -- what was used ------------------------------------------------------------------------------

def output_size(request: Any) -> tuple[int, int]:
    """(width, height) of the images a request produces (the hires target with the highres fix)."""
    checked: Checked = request._checked
    if checked.hires is not None:
        return checked.hires.width, checked.hires.height
    return checked.width, checked.height


def result_params(request: Any, prompt: str, loras: Sequence[Lora], facts: dict[str, Any]) -> dict[str, Any]:
    """:attr:`sdcpp.GenerationResult.params`: the resolved request's fields as plain data, with the
    values as the engine used them, and ``facts`` (model files, rng, versions) added.

    Image fields say whether an image was given (a list field: how many); ``prompt`` is the prompt
    without LoRA tags (``prompt_with_loras`` keeps them) and ``loras`` lists those of the tags and
    of the list; ``width``/``height`` are the output size; ``steps`` counts custom sigmas;
    ``strength``/``control_strength`` are None without the image they apply to; ``hires`` is the
    resolved highres fix (None when off); ``deepcache`` is its ``"interval,depth,start,end"`` text
    and ``cache_mode`` is ``"deepcache"`` with it (the step cache's name when DeepCache is stacked
    on one, e.g. ``"ucache"``), ``"disabled"`` without any cache.
    """
    checked: Checked = request._checked
    params: dict[str, Any] = request.to_dict()
    for name in ("init_image", "mask", "control_image"):
        params[name] = params[name] is not None
    for name in ("ref_images", "pm_id_images"):
        params[name] = len(params[name])
    width, height = output_size(request)
    hires = checked.hires
    params.update(
        prompt=prompt, prompt_with_loras=request.prompt, width=width, height=height,
        steps=request.steps if checked.sigmas is None else len(checked.sigmas) - 1,
        strength=request.strength if request.init_image is not None else None,
        control_strength=request.control_strength if request.control_image is not None else None,
        loras=[dataclasses.asdict(lora) for lora in loras],
        hires=None if hires is None else {**hires.as_dict(), "base_width": checked.width,
                                          "base_height": checked.height},
        deepcache=None if checked.deepcache is None else str(checked.deepcache),
        cache_mode=_reported_cache_mode(request),
    )
    params.update(facts)
    return params


def _reported_cache_mode(request: Any) -> str:
    """The cache mode a result reports: the step cache DeepCache is stacked on, ``"deepcache"``,
    the requested upstream mode, or ``"disabled"``."""
    if request._checked.deepcache is None:
        return str(request.cache_mode or "disabled")
    return str(request.cache_mode) if request.cache_mode in STACKABLE_CACHE_MODES else "deepcache"
