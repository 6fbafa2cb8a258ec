"""The generation parameters stored in PNGs: sd-cli's A1111-style ``parameters`` text.

sd-cli (examples/common/common.cpp, get_image_params) writes::

    a cat <lora:style:0.8>
    Negative prompt: blurry
    Steps: 20, CFG scale: 7.000000, Guidance: 3.500000, Eta: 0.000000, Seed: 42, Size: 512x512,
    Model: sd15.gguf, RNG: cuda, Sampler: euler_a discrete, Clip skip: 2, Version: stable-diffusion.cpp,
    SDCPP: {"schema": "sdcpp.image.params/v1", ...}

(the third part is one line). :func:`format_parameters` writes the same layout from a
:class:`sdcpp.GenerationResult`'s parameters and :func:`parse_parameters` reads it back, from
sd-cli's files, ours, and A1111's.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, Mapping, Optional

from PIL import Image

from .errors import InvalidArgument
from .request import IMAGE_FIELDS, IMAGE_LIST_FIELDS

SCHEMA = "sdcpp.image.params/v1"

# A1111's own pattern for the "key: value, key: value" line (modules/infotext_utils.py).
_PARAM = re.compile(r'\s*([\w ]+):\s*("(?:\\.|[^\\"])+"|\[[^\]]*\]|[^,]*)(?:,|$)')
_SIZE = re.compile(r"^(\d+)x(\d+)$")


def _float(value: float) -> str:
    # std::to_string(float): six decimals, as sd-cli prints them.
    return f"{value:.6f}"


def format_parameters(params: Mapping[str, Any], request: Optional[Mapping[str, Any]] = None) -> str:
    """The ``parameters`` text sd-cli would write for a generation with these parameters.

    ``params`` is :attr:`sdcpp.GenerationResult.params` (one image's ``seed``); keys that are
    missing are left out of the text. ``request`` (:meth:`sdcpp.GenerationRequest.to_dict` of the
    request that makes this image) is stored whole in the JSON block under ``"request"``, images
    left out, so ``GenerationRequest.from_dict(read_parameters(png)["sdcpp"]["request"])``
    rebuilds it.
    """
    prompt = params.get("prompt_with_loras") or params.get("prompt", "")
    lines = [str(prompt)]
    if params.get("negative_prompt"):
        lines.append(f"Negative prompt: {params['negative_prompt']}")
    fields: list[str] = [f"Steps: {params['steps']}", f"CFG scale: {_float(params['cfg_scale'])}"]
    if params.get("guidance") is not None:
        fields.append(f"Guidance: {_float(params['guidance'])}")
    if params.get("eta") is not None:
        fields.append(f"Eta: {_float(params['eta'])}")
    fields += [f"Seed: {params['seed']}", f"Size: {params['width']}x{params['height']}"]
    models = params.get("models") or {}
    if models.get("model"):
        fields.append(f"Model: {models['model']}")
    if params.get("rng"):
        fields.append(f"RNG: {params['rng']}")
    sampler = str(params.get("sampling_method", ""))
    if params.get("sigmas"):
        fields.append(f"Sampler: {sampler}, Custom Sigmas: [" +
                      ", ".join(f"{sigma:.4f}" for sigma in params["sigmas"]) + "]")
    else:
        fields.append(f"Sampler: {sampler} {params.get('scheduler', '')}".rstrip())
    for key in ("clip_l", "clip_g", "t5xxl", "llm", "llm_vision"):
        if models.get(key):
            fields.append(f"TE: {models[key]}")
    if models.get("diffusion_model"):
        fields.append(f"Unet: {models['diffusion_model']}")
    if models.get("vae"):
        fields.append(f"VAE: {models['vae']}")
    if params.get("clip_skip", -1) != -1:
        fields.append(f"Clip skip: {params['clip_skip']}")
    hires = params.get("hires")
    if hires:
        fields += [f"Hires upscale: {hires['upscaler']}", f"Hires scale: {_float(hires['scale'])}",
                   f"Hires resize: {hires['width']}x{hires['height']}", f"Hires steps: {hires['steps']}",
                   f"Denoising strength: {_float(hires['denoising_strength'])}"]
    if params.get("deepcache"):
        # Quoted like A1111 quotes values holding commas.
        fields.append(f"DeepCache: {json.dumps(str(params['deepcache']))}")
    fields.append(f"Version: {params.get('version', 'sdcpp')}")
    block = _metadata_json(params)
    if request is not None:
        block["request"] = _without_images(request)
    fields.append("SDCPP: " + json.dumps(block, separators=(",", ":"), sort_keys=True))
    lines.append(", ".join(fields))
    return "\n".join(lines)


def _metadata_json(params: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON block sd-cli appends (schema sdcpp.image.params/v1), with sdcpp's cache fields."""
    root: dict[str, Any] = {
        "schema": SCHEMA,
        "mode": "img_gen",
        "generator": params.get("generator", {"name": "sdcpp"}),
        "seed": params["seed"],
        "width": params["width"],
        "height": params["height"],
        "prompt": {"positive": params.get("prompt", ""), "negative": params.get("negative_prompt", "")},
        "sampling": {
            "steps": params["steps"],
            "method": params.get("sampling_method"),
            "scheduler": params.get("scheduler"),
            "eta": params.get("eta"),
            "guidance": {"txt_cfg": params["cfg_scale"], "img_cfg": params.get("img_cfg_scale"),
                         "distilled_guidance": params.get("guidance")},
        },
        "models": dict(params.get("models") or {}),
        "clip_skip": params.get("clip_skip", -1),
        "rng": params.get("rng"),
    }
    if params.get("sigmas"):
        root["sampling"]["custom_sigmas"] = list(params["sigmas"])
    if params.get("strength") is not None:
        root["strength"] = params["strength"]
    if params.get("control_strength") is not None:
        root["control_strength"] = params["control_strength"]
    if params.get("loras"):
        root["loras"] = [{"name": os.path.basename(lora["path"]), "multiplier": lora["multiplier"],
                          "is_high_noise": lora.get("high_noise", False)} for lora in params["loras"]]
    hires = params.get("hires")
    if hires:
        root["hires"] = {"enabled": True, "upscaler": hires["upscaler"], "scale": hires["scale"],
                         "target_width": hires["width"], "target_height": hires["height"],
                         "steps": hires["steps"], "denoising_strength": hires["denoising_strength"]}
    if params.get("cache_mode") not in (None, "disabled"):
        root["cache"] = {"requested_mode": params["cache_mode"],
                         "requested_option": params.get("deepcache") or params.get("cache_options") or ""}
    return root


def _without_images(request: Mapping[str, Any]) -> dict[str, Any]:
    return {key: None if key in IMAGE_FIELDS else [] if key in IMAGE_LIST_FIELDS else value
            for key, value in request.items()}


def parse_parameters(text: str) -> dict[str, Any]:
    """Read an A1111/sd-cli ``parameters`` text into a dict.

    Keys in sdcpp's vocabulary where sd-cli has them (``prompt``, ``negative_prompt``, ``steps``,
    ``cfg_scale``, ``seed``, ``width``, ``height``, ``sampling_method``, ``scheduler``, ``eta``,
    ``guidance``, ``clip_skip``, ``model``, ``rng``, ``deepcache``, ``sigmas``), ``sdcpp`` for the JSON
    block when present, and ``fields`` with every "Key: value" pair as text.
    """
    if not isinstance(text, str):
        raise InvalidArgument(f"parameters must be a string, not {type(text).__name__}")
    metadata: Optional[dict[str, Any]] = None
    marker = text.rfind(", SDCPP: {")
    if marker >= 0:
        try:
            metadata = json.loads(text[marker + len(", SDCPP: "):])
            text = text[:marker]
        except ValueError:
            metadata = None
    lines = text.split("\n")
    last = lines[-1] if len(lines) > 1 or "Steps: " in lines[-1] else ""
    if last and not re.match(r"^\s*Steps: ", last) and len(_PARAM.findall(last)) < 3:
        last = ""
    body = lines[:-1] if last else lines
    prompt_lines: list[str] = []
    negative_lines: list[str] = []
    target = prompt_lines
    for line in body:
        if line.startswith("Negative prompt:"):
            target = negative_lines
            line = line[len("Negative prompt:"):].lstrip()
        target.append(line)
    fields: dict[str, str] = {}
    for key, value in _PARAM.findall(last):
        value = value.strip()
        if value.startswith('"') and value.endswith('"'):
            value = json.loads(value)
        fields.setdefault(key.strip(), value)
    result: dict[str, Any] = {"prompt": "\n".join(prompt_lines), "negative_prompt": "\n".join(negative_lines),
                              "fields": fields}
    _typed(result, fields, "Steps", "steps", int)
    _typed(result, fields, "CFG scale", "cfg_scale", float)
    _typed(result, fields, "Guidance", "guidance", float)
    _typed(result, fields, "Eta", "eta", float)
    _typed(result, fields, "Seed", "seed", int)
    _typed(result, fields, "Clip skip", "clip_skip", int)
    if "Size" in fields and (size := _SIZE.match(fields["Size"])):
        result["width"], result["height"] = int(size.group(1)), int(size.group(2))
    if "Sampler" in fields:
        method, _, scheduler = fields["Sampler"].partition(" ")
        result["sampling_method"] = method
        if scheduler:
            result["scheduler"] = scheduler
    if "Custom Sigmas" in fields:
        result["sigmas"] = [float(part) for part in fields["Custom Sigmas"].strip("[]").split(",") if part.strip()]
    for source, key in (("Model", "model"), ("RNG", "rng"), ("DeepCache", "deepcache"), ("Version", "version")):
        if source in fields:
            result[key] = fields[source]
    if metadata is not None:
        result["sdcpp"] = metadata
    return result


def _typed(result: dict[str, Any], fields: Mapping[str, str], source: str, key: str, kind: type) -> None:
    if source in fields:
        try:
            result[key] = kind(fields[source])
        except ValueError:
            pass


def read_parameters(path: "os.PathLike[str] | str") -> dict[str, Any]:
    """The generation parameters stored in a PNG written by sdcpp, sd-cli or A1111.

    Raises :class:`InvalidArgument` when the file is not an image or holds no ``parameters`` text.
    """
    target = Path(os.fspath(path))
    try:
        with Image.open(target) as image:
            text = image.info.get("parameters")
            if text is None and hasattr(image, "text"):
                text = image.text.get("parameters")
    except (OSError, ValueError) as error:
        raise InvalidArgument(f"{target}: cannot read the image ({error})") from None
    if not isinstance(text, str):
        raise InvalidArgument(f"{target}: no generation parameters stored in this image")
    return parse_parameters(text)
