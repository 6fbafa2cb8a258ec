"""GenerationRequest: what to generate, as one validated, comparable, serialisable value.

Every generation setting lives here once, under sd-cli's names and with sd-cli's defaults
(``--cfg-scale`` is ``cfg_scale``). :meth:`sdcpp.Context.generate` takes a request (or the same
names as keywords), the CLI builds one from its flags, the server and the Ray recipe build one from
a JSON object with :meth:`GenerationRequest.from_dict`, and :attr:`sdcpp.GenerationResult.request`
is the request with every default resolved.
"""
from __future__ import annotations

import base64
import binascii
import dataclasses
import io
import re
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence, Union

import numpy as np
from PIL import Image

from . import _request as R
from . import params as P
from .cache import DeepCache
from .errors import InvalidArgument
from .images import ImageLike
from .loras import Lora, LoraSpec

__all__ = ["GenerationRequest", "IMAGE_FIELDS", "IMAGE_LIST_FIELDS", "build_request"]

IMAGE_FIELDS = ("init_image", "mask", "control_image")
"""Fields holding one image (a read-only uint8 array once the request is built)."""
IMAGE_LIST_FIELDS = ("ref_images", "pm_id_images")
"""Fields holding a tuple of images."""
IMAGE_ENCODINGS = ("array", "base64")

_BASE64 = re.compile(r"^[A-Za-z0-9+/\s]+={0,2}\s*$")


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class GenerationRequest:
    """Everything one generation needs, validated when it is built.

    ``GenerationRequest(prompt="a cat", steps=25)``: names and defaults are sd-cli's, and the same
    as the keyword arguments of :meth:`sdcpp.Context.generate`. A bad value raises
    :class:`sdcpp.InvalidArgument` naming the field. Settings that need the loaded model
    (``<lora:...>`` tags, ``control_image`` without a ControlNet, the DeepCache depth) are checked
    by :meth:`sdcpp.Context.generate`.

    A request is immutable: :meth:`replace` makes a changed copy (validated again). Two requests
    are equal when every field is (images compared pixel by pixel). Values are stored normalised:
    numbers as ``float``/``int``, sequences as tuples, images as read-only uint8 arrays, LoRAs as
    :class:`sdcpp.Lora`, ``deepcache`` as :class:`sdcpp.DeepCache`, ``cache_options`` as text.
    :meth:`to_dict` / :meth:`from_dict` convert to and from plain JSON-able dicts; the request
    pickles (for Ray).

    Attributes:
        prompt: what to draw; ``<lora:name:multiplier>`` tags load LoRAs from the Context's
            ``lora_model_dir``.
        negative_prompt: what to avoid (used when ``cfg_scale`` > 1).
        width, height: image size in pixels, multiples of 8; None: 512, or the init image's size.
        steps: sampling steps.
        cfg_scale: classifier-free guidance scale; 1 disables the unconditional pass.
        img_cfg_scale: image guidance for inpainting / instruct-pix2pix models (None: cfg_scale).
        guidance: distilled guidance for models with a guidance input (Flux).
        seed: RNG seed; -1 draws one over the full int64 range (reported in the result).
        sampling_method: one of :func:`sdcpp.sampling_methods`; None: the model's default.
        scheduler: one of :func:`sdcpp.schedulers`; None: the sampling method's default.
        eta: noise multiplier of the stochastic samplers; None: the sampler's default.
        sigmas: custom sigma schedule (decreasing, ending at 0; a sequence or ``"14.6,7.8,0"``),
            replacing steps and scheduler.
        flow_shift: shift for flow models (SD3, Wan); None: automatic.
        timestep_shift: timestep shift for NitroFusion models.
        batch_count: number of images; image i uses seed + i.
        clip_skip: CLIP layers to skip; -1: the model's default.
        init_image: start from this image (img2img): a uint8 (H, W, 3) array or a PIL image of
            size ``width`` x ``height``.
        mask: inpainting mask of the init image's size: white (255) is repainted, black kept.
        strength: img2img denoising strength in [0, 1]; 1 ignores the init image's content, 0
            returns the init image unchanged (without running the model).
        control_image: the ControlNet's input (needs ``control_net=`` on the Context).
        control_strength: how strongly the ControlNet steers, in [0, 10].
        ref_images: reference images for edit models (Flux Kontext, Qwen-Image-Edit).
        increase_ref_index, auto_resize_ref_image: reference-image handling (sd-cli's flags).
        loras: LoRAs to apply: :class:`sdcpp.Lora` objects, paths, ``(path, multiplier)`` pairs,
            or ``{path: multiplier}``; added to those named in the prompt.
        hires: run the highres fix (a second img2img pass at a larger size).
        hires_upscaler: ``"Latent"``, ``"Lanczos"``, ... (:func:`sdcpp.hires_upscalers`) or the path
            of an ESRGAN model.
        hires_scale: target size as a factor of ``width`` x ``height``.
        hires_width, hires_height: explicit target size (0: from ``hires_scale``; one side alone
            keeps the aspect ratio).
        hires_steps: steps of the second pass (0: ``steps``).
        hires_denoising_strength: strength of the second pass.
        slg_scale, skip_layers, skip_layer_start, skip_layer_end: skip-layer guidance (DiT models).
        pm_id_images, pm_id_embed_path, pm_style_strength: PhotoMaker inputs.
        vae_tiling: decode in tiles (None: the Context's setting).
        vae_tile_size: tile size in latent pixels (x, y); None: the engine's default.
        vae_tile_overlap: tile overlap as a fraction of the tile size.
        deepcache: DeepCache settings (a :class:`sdcpp.DeepCache`, an int interval, or
            ``"interval,depth,start,end"``).
        cache_mode: one of upstream's step caches (``"ucache"``, ``"spectrum"``, ``"easycache"``,
            ``"dbcache"``, ``"taylorseer"``, ``"cache-dit"``) or ``"deepcache"``.
        cache_options: sd-cli's --cache-option text (``"threshold=0.2,start=0.1"``) or a mapping.
        output_format: ``"numpy"`` (uint8 (H, W, 3) arrays) or ``"pil"`` (PIL images).
        preview_method: ``"proj"`` (fast latent projection), ``"tae"``, ``"vae"`` or ``"none"``;
            used when :meth:`sdcpp.Context.generate` gets a ``preview=`` callback.
        preview_interval: call ``preview`` every this many steps.
        preview_noisy: preview the noisy input instead of the denoised estimate.
    """

    prompt: str = ""
    negative_prompt: str = ""
    width: Optional[int] = None
    height: Optional[int] = None
    steps: int = P.DEFAULT_STEPS
    cfg_scale: float = P.DEFAULT_CFG_SCALE
    img_cfg_scale: Optional[float] = None
    guidance: float = 3.5
    seed: int = P.DEFAULT_SEED
    sampling_method: Optional[str] = None
    scheduler: Optional[str] = None
    eta: Optional[float] = None
    sigmas: Union[Sequence[float], str, None] = None
    flow_shift: Optional[float] = None
    timestep_shift: int = 0
    batch_count: int = 1
    clip_skip: int = -1
    init_image: Optional[ImageLike] = None
    mask: Optional[ImageLike] = None
    strength: float = P.DEFAULT_STRENGTH
    control_image: Optional[ImageLike] = None
    control_strength: float = 0.9
    ref_images: Optional[Sequence[ImageLike]] = ()
    increase_ref_index: bool = False
    auto_resize_ref_image: bool = True
    loras: Union[Sequence[LoraSpec], Mapping[P.PathLike, float], None] = ()
    hires: bool = False
    hires_upscaler: str = "Latent"
    hires_scale: float = 2.0
    hires_width: int = 0
    hires_height: int = 0
    hires_steps: int = 0
    hires_denoising_strength: float = 0.7
    slg_scale: float = 0.0
    skip_layers: Sequence[int] = (7, 8, 9)
    skip_layer_start: float = 0.01
    skip_layer_end: float = 0.2
    pm_id_images: Optional[Sequence[ImageLike]] = ()
    pm_id_embed_path: Optional[P.PathLike] = None
    pm_style_strength: float = 20.0
    vae_tiling: Optional[bool] = None
    vae_tile_size: Optional[tuple[int, int]] = None
    vae_tile_overlap: float = 0.5
    deepcache: Union[DeepCache, int, str, None] = None
    cache_mode: Optional[str] = None
    cache_options: Union[str, Mapping[str, Any], None] = None
    output_format: str = "numpy"
    preview_method: str = "proj"
    preview_interval: int = 1
    preview_noisy: bool = False
    _checked: R.Checked = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        checked, normal = R.check_request(self)
        for name, value in normal.items():
            object.__setattr__(self, name, value)
        object.__setattr__(self, "_checked", checked)

    # -- value semantics --------------------------------------------------------------------

    def replace(self, **changes: Any) -> "GenerationRequest":
        """A copy with some fields changed, validated again: ``request.replace(seed=7)``."""
        unknown = sorted(set(changes) - set(FIELD_NAMES))
        if unknown:
            raise TypeError(f"GenerationRequest has no field(s) {', '.join(map(repr, unknown))}")
        return dataclasses.replace(self, **changes)

    def _key(self) -> tuple[Any, ...]:
        return tuple(_comparable(getattr(self, name)) for name in FIELD_NAMES)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, GenerationRequest):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        changed = [f"{name}={_short(getattr(self, name))}" for name in FIELD_NAMES
                   if _comparable(getattr(self, name)) != _comparable(_DEFAULTS[name])]
        return f"GenerationRequest({', '.join(changed)})"

    # -- plain dicts ------------------------------------------------------------------------

    def to_dict(self, images: str = "array") -> dict[str, Any]:
        """Every field as plain data: lists for sequences, dicts for LoRAs and DeepCache.

        ``images="array"`` keeps images as uint8 numpy arrays; ``images="base64"`` writes them as
        base64 PNG text, so the dict passes through ``json.dumps`` and back through
        :meth:`from_dict` unchanged.
        """
        if images not in IMAGE_ENCODINGS:
            raise InvalidArgument(f"images must be one of {', '.join(IMAGE_ENCODINGS)}, got {images!r}")
        return {name: _plain(getattr(self, name), images == "base64") for name in FIELD_NAMES}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "GenerationRequest":
        """Build a request from plain data (what :meth:`to_dict` or a JSON body holds).

        Missing keys keep their defaults; unknown keys are refused, named. Besides the Python
        values, this accepts, for images, a file path or base64 (PNG, JPEG, ... or a
        ``data:image/...;base64,`` URL); for ``loras``, dicts ``{"path", "multiplier",
        "high_noise"}`` and ``[path, multiplier]`` pairs; for ``deepcache``, a dict of
        :class:`sdcpp.DeepCache`'s fields; for ``vae_tile_size``, a ``[x, y]`` list.
        """
        if not isinstance(data, Mapping):
            raise InvalidArgument(f"a GenerationRequest is built from a mapping, not {type(data).__name__}")
        unknown = sorted(repr(key) if not isinstance(key, str) else key for key in data if key not in _DEFAULTS)
        if unknown:
            raise InvalidArgument(f"unknown GenerationRequest field(s): {', '.join(unknown)}")
        return cls(**{name: _from_plain(name, value) for name, value in data.items()})


FIELD_NAMES: tuple[str, ...] = tuple(field.name for field in dataclasses.fields(GenerationRequest) if field.init)
"""The request's field names, in declaration order."""
_DEFAULTS: dict[str, Any] = {field.name: field.default for field in dataclasses.fields(GenerationRequest)
                             if field.init}


def build_request(prompt: Union[str, GenerationRequest], negative_prompt: Optional[str],
                  settings: Mapping[str, Any]) -> GenerationRequest:
    """The request of a ``generate(prompt, negative_prompt, **settings)`` call.

    ``prompt`` may be a request: the other arguments then change it (:meth:`GenerationRequest.replace`).
    """
    unknown = sorted(set(settings) - set(FIELD_NAMES))
    if unknown:
        raise TypeError(f"unexpected keyword argument(s) {', '.join(map(repr, unknown))}: the settings of a "
                        "generation are the fields of sdcpp.GenerationRequest")
    changes = dict(settings)
    if negative_prompt is not None:
        changes["negative_prompt"] = negative_prompt
    if isinstance(prompt, GenerationRequest):
        return prompt.replace(**changes) if changes else prompt
    return GenerationRequest(prompt=prompt, **changes)


# -- helpers: comparison, repr, plain data ------------------------------------------------------

def _comparable(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return ("image", value.shape, value.tobytes())
    if isinstance(value, (tuple, list)):
        return tuple(_comparable(item) for item in value)
    return value


def _short(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"<uint8 {'x'.join(map(str, value.shape))} image>"
    if isinstance(value, tuple):
        return "(" + ", ".join(_short(item) for item in value) + ("," if len(value) == 1 else "") + ")"
    return repr(value)


def _plain(value: Any, base64_images: bool) -> Any:
    if isinstance(value, np.ndarray):
        return _encode_png(value) if base64_images else value
    if isinstance(value, (tuple, list)):
        return [_plain(item, base64_images) for item in value]
    if isinstance(value, (Lora, DeepCache)):
        return dataclasses.asdict(value)
    return value


def _encode_png(pixels: np.ndarray) -> str:
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels)).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _from_plain(name: str, value: Any) -> Any:
    if name in IMAGE_FIELDS:
        return _image_from_plain(name, value, "L" if name == "mask" else "RGB")
    if name in IMAGE_LIST_FIELDS and isinstance(value, list):
        return [_image_from_plain(f"{name}[{index}]", item, "RGB") for index, item in enumerate(value)]
    if name == "loras" and isinstance(value, list):
        return [_lora_from_plain(index, item) for index, item in enumerate(value)]
    if name == "deepcache" and isinstance(value, Mapping):
        return DeepCache(**_known_keys("deepcache", value, [field.name for field in dataclasses.fields(DeepCache)]))
    if name == "vae_tile_size" and isinstance(value, list):
        return tuple(value)
    if name in ("sigmas", "skip_layers") and isinstance(value, list):
        return tuple(value)
    return value


def _known_keys(name: str, value: Mapping[Any, Any], keys: Sequence[str]) -> dict[str, Any]:
    unknown = sorted(str(key) for key in value if key not in keys)
    if unknown:
        raise InvalidArgument(f"{name}: unknown key(s) {', '.join(unknown)}; use {', '.join(keys)}")
    return {str(key): item for key, item in value.items()}


def _lora_from_plain(index: int, item: Any) -> Any:
    if isinstance(item, Mapping):
        fields = _known_keys(f"loras[{index}]", item, ("path", "multiplier", "high_noise"))
        if "path" not in fields:
            raise InvalidArgument(f"loras[{index}]: a LoRA needs a path")
        return Lora(**fields)
    if isinstance(item, list) and len(item) == 2:
        return (item[0], item[1])
    return item


def _image_from_plain(name: str, value: Any, mode: str) -> Any:
    """An image given as a file path or base64 text, read into a uint8 array; others pass through."""
    if not isinstance(value, str):
        return value
    if value.startswith("data:"):
        header, _, payload = value.partition(",")
        if not header.endswith(";base64"):
            raise InvalidArgument(f"{name}: a data: URL must be base64-encoded")
        return _decode_image(name, _b64decode(name, payload), mode)
    try:
        is_file = Path(value).is_file()
    except (OSError, ValueError):
        is_file = False
    if is_file:
        try:
            with open(value, "rb") as file:
                return _decode_image(name, file.read(), mode)
        except OSError as error:
            raise InvalidArgument(f"{name}: cannot read {value} ({error.strerror})") from None
    if len(value) >= 16 and _BASE64.match(value):
        return _decode_image(name, _b64decode(name, value), mode)
    raise InvalidArgument(f"{name}: no such file, and not base64 image data: {value[:80]!r}")


def _b64decode(name: str, text: str) -> bytes:
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidArgument(f"{name}: invalid base64 image data") from None


def _decode_image(name: str, data: bytes, mode: str) -> np.ndarray:
    try:
        with Image.open(io.BytesIO(data)) as image:
            return np.asarray(image.convert(mode), dtype=np.uint8).copy()
    except (OSError, ValueError, Image.DecompressionBombError) as error:
        raise InvalidArgument(f"{name}: cannot read the image ({error})") from None
