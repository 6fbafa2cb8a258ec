"""From API fields to one sdcpp generation: server defaults and limits, DeepCache values, LoRA
names resolved inside ``--lora-model-dir``, and the call into :meth:`sdcpp.Context.generate`.

Fields use sdcpp's keyword names (``cfg_scale``, ``sampling_method``, ``batch_count``, ...); each
API module maps its own names onto them with one table. Errors raised here name the sdcpp field
(:class:`ApiError.field`); the API modules rename it.
"""
from __future__ import annotations

import dataclasses

import os
import re
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Union

import numpy as np

import sdcpp

from .errors import ApiError
from .settings import ServerSettings

# sd-cli's prompt tag syntax and the extensions it tries (examples/common/common.cpp).
LORA_TAG = re.compile(r"<lora:([^:>]+):([^>]+)>")
LORA_EXTENSIONS = (".safetensors", ".gguf", ".pt", ".ckpt")
DEEPCACHE_OFF = frozenset({"off", "none", "disabled", "false", ""})


def request_type() -> Any:
    """``sdcpp.GenerationRequest`` when this sdcpp has it (issue 15), else None."""
    return getattr(sdcpp, "GenerationRequest", None)


def prepare(fields: dict[str, Any]) -> Any:
    """The request object handed to the worker: a ``GenerationRequest`` (validated now) when
    the library has it, else the keyword dict itself (validated when it runs)."""
    kind = request_type()
    if kind is not None:
        return kind.from_dict(fields)
    return dict(fields)


def run(context: sdcpp.Context, request: Any, progress: Callable[[int, int, float], None],
        preview: Callable[[int, "list[np.ndarray]", bool], None]) -> sdcpp.GenerationResult:
    """Run one prepared request on ``context`` (the worker thread's job)."""
    if isinstance(request, dict):
        return context.generate(**request, progress=progress, preview=preview)
    return context.generate(request, progress=progress, preview=preview)


def deepcache_value(value: object) -> Union[sdcpp.DeepCache, bool, None]:
    """A request's ``deepcache``: a DeepCache, False for "explicitly off", None for "not given".

    Accepts ``"3,0"`` (sd-cli's interval,depth,start,end), an int interval, an object
    ``{"interval": 3, "depth": 0, "start": 0, "end": null}``, or false / "off".
    """
    if value is None:
        return None
    if value is False or (isinstance(value, str) and value.strip().lower() in DEEPCACHE_OFF):
        return False
    if value is True:
        return sdcpp.DeepCache()
    try:
        if isinstance(value, Mapping):
            known = [field.name for field in dataclasses.fields(sdcpp.DeepCache)]
            unknown = sorted(set(value) - set(known))
            if unknown:
                raise ApiError(422, f"deepcache: unknown key(s) {', '.join(unknown)}; use {', '.join(known)}",
                               "deepcache")
            return sdcpp.DeepCache(**dict(value))
        if isinstance(value, (str, int)):
            return sdcpp.DeepCache.coerce(value)
    except sdcpp.InvalidArgument as error:
        raise ApiError(422, str(error), "deepcache") from None
    raise ApiError(422, "deepcache must be a string like '3,0', an interval, an object or false", "deepcache")


def apply_defaults(fields: dict[str, Any], settings: ServerSettings) -> dict[str, Any]:
    """Fill what the request left out from the server's defaults (None means "left out")."""
    defaults = settings.defaults
    filled = {key: value for key, value in fields.items() if value is not None}
    for name in ("steps", "cfg_scale", "seed", "sampling_method", "scheduler", "clip_skip"):
        if name not in filled and getattr(defaults, name) is not None:
            filled[name] = getattr(defaults, name)
    if "init_image" not in filled:
        filled.setdefault("width", defaults.width)
        filled.setdefault("height", defaults.height)
    cache = deepcache_value(fields.get("deepcache"))
    filled.pop("deepcache", None)
    if cache is None and filled.get("cache_mode") is None and defaults.deepcache is not None:
        cache = sdcpp.DeepCache.coerce(defaults.deepcache)
    if isinstance(cache, sdcpp.DeepCache):
        filled["deepcache"] = cache
    return filled


def check_limits(fields: Mapping[str, Any], settings: ServerSettings) -> None:
    """The server's own bounds (tighter than the library's): pixels, batch, steps."""
    width, height = fields.get("width"), fields.get("height")
    if isinstance(width, int) and isinstance(height, int) and width * height > settings.max_output_pixels:
        raise ApiError(422, f"width x height = {width * height} pixels; this server generates at most "
                       f"{settings.max_output_pixels}", "width")
    batch = fields.get("batch_count", 1)
    if isinstance(batch, int) and batch > settings.max_batch:
        raise ApiError(422, f"batch_count {batch} is more than this server's limit of {settings.max_batch} images",
                       "batch_count")
    for name in ("steps", "hires_steps"):
        steps = fields.get(name)
        if isinstance(steps, int) and steps > settings.max_steps:
            raise ApiError(422, f"{name} {steps} is more than this server's limit of {settings.max_steps}", name)
    if fields.get("hires") is True and isinstance(width, int) and isinstance(height, int):
        scale = fields.get("hires_scale", 2.0)
        target_w = fields.get("hires_width") or 0
        target_h = fields.get("hires_height") or 0
        if isinstance(scale, (int, float)) and not (target_w or target_h):
            target_w, target_h = int(width * scale), int(height * scale)
        elif isinstance(target_w, int) and isinstance(target_h, int):
            target_w = target_w or int(width * target_h / max(height, 1))
            target_h = target_h or int(height * target_w / max(width, 1))
        if isinstance(target_w, int) and isinstance(target_h, int) and target_w * target_h > settings.max_output_pixels:
            raise ApiError(422, f"the highres-fix target {target_w}x{target_h} exceeds this server's limit of "
                           f"{settings.max_output_pixels} pixels", "hires_scale")
    upscaler = fields.get("hires_upscaler")
    if upscaler is not None and (upscaler not in sdcpp.hires_upscalers() or upscaler == "Model"):
        raise ApiError(422, f"hires_upscaler {upscaler!r}: choose one of "
                       f"{', '.join(n for n in sdcpp.hires_upscalers() if n != 'Model')}", "hires_upscaler")


def lora_dir(settings: ServerSettings) -> Optional[Path]:
    """The configured LoRA directory (resolved), or None."""
    directory = settings.context_options.get("lora_model_dir")
    return None if directory is None else Path(str(directory)).resolve()


def resolve_lora(name: str, directory: Optional[Path], field: str) -> Path:
    """The LoRA file ``name`` inside ``directory``; anything that leaves it is refused."""
    if directory is None:
        raise ApiError(422, f"{field}: LoRA {name!r} requested but this server has no --lora-model-dir", field)
    if not name or "\0" in name or os.path.isabs(name) or "\\" in name or ".." in Path(name).parts:
        raise ApiError(422, f"{field}: LoRA name {name!r} must be a plain name inside the LoRA directory", field)
    candidates = [directory / name] + [directory / (name + ext) for ext in LORA_EXTENSIONS]
    for candidate in candidates:
        resolved = candidate.resolve()
        if resolved.is_file() and resolved.is_relative_to(directory):
            return resolved
    raise ApiError(422, f"{field}: no LoRA named {name!r} in the LoRA directory", field)


def check_prompt_loras(prompt: object, directory: Optional[Path], field: str = "prompt") -> None:
    """Refuse ``<lora:name:x>`` tags that name files outside the LoRA directory (or none)."""
    if isinstance(prompt, str):
        for match in LORA_TAG.finditer(prompt):
            resolve_lora(match.group(1).strip(), directory, field)


def explicit_loras(loras: Optional[Mapping[str, float]], directory: Optional[Path],
                   field: str = "loras") -> Optional[list[tuple[str, float]]]:
    """``{"name": multiplier}`` -> sdcpp's ``loras=[(path, multiplier)]``."""
    if not loras:
        return None
    return [(str(resolve_lora(name, directory, field)), multiplier) for name, multiplier in loras.items()]


def list_loras(directory: Optional[Path]) -> list[dict[str, Any]]:
    """The LoRA files in the directory: name (stem) and file name, never the absolute path."""
    if directory is None or not directory.is_dir():
        return []
    return [{"name": path.stem, "alias": path.stem, "path": path.name, "metadata": {}}
            for path in sorted(directory.iterdir()) if path.is_file() and path.suffix in LORA_EXTENSIONS]
