"""LoRA: an explicit list of files with multipliers, and sd-cli's ``<lora:name:multiplier>`` prompt tags."""
from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path
from typing import Iterable, Mapping, Optional, Sequence, Tuple, Union

from . import params as P
from .errors import InvalidArgument
from .models import model_format

# sd-cli (examples/common/common.cpp, extract_and_remove_lora): the tag syntax and the file
# extensions tried when a tag names a LoRA without one.
LORA_TAG = re.compile(r"<lora:([^:>]+):([^>]+)>")
LORA_EXTENSIONS = (".gguf", ".safetensors", ".pt")
HIGH_NOISE_PREFIX = "|high_noise|"


@dataclasses.dataclass(frozen=True)
class Lora:
    """One LoRA to apply: ``Lora("style.safetensors", multiplier=0.8)``.

    ``high_noise`` applies it to the high-noise diffusion model of two-model video models (Wan2.2).
    """

    path: str
    multiplier: float = 1.0
    high_noise: bool = False

    def __post_init__(self) -> None:
        P.check_file("lora path", self.path)
        P.check_float("lora multiplier", self.multiplier, -100.0, 100.0)
        if not isinstance(self.high_noise, bool):
            raise InvalidArgument("lora high_noise must be True or False")


LoraSpec = Union[Lora, P.PathLike, Tuple[P.PathLike, float]]
"""A LoRA given to :meth:`sdcpp.Context.generate`: a :class:`Lora`, a path (multiplier 1), or
``(path, multiplier)``."""


def coerce_loras(loras: Union[Sequence[LoraSpec], Mapping[P.PathLike, float], None]) -> list[Lora]:
    """Turn the ``loras=`` argument into a list of validated :class:`Lora` objects."""
    if loras is None:
        return []
    items: Iterable[object]
    if isinstance(loras, Mapping):
        items = list(loras.items())
    elif isinstance(loras, (list, tuple)):
        items = loras
    else:
        raise InvalidArgument(f"loras must be a list of Lora/paths/(path, multiplier) or a dict, "
                              f"not {type(loras).__name__}")
    result = []
    for item in items:
        if isinstance(item, Lora):
            result.append(item)
        elif isinstance(item, (str, os.PathLike)):
            result.append(Lora(os.fspath(item)))
        elif isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], (str, os.PathLike)):
            multiplier = P.check_float("lora multiplier", item[1], -100.0, 100.0)
            result.append(Lora(os.fspath(item[0]), multiplier))
        else:
            raise InvalidArgument(f"cannot use {item!r} as a LoRA: give a Lora, a path or (path, multiplier)")
    for lora in result:
        model_format(Path(lora.path))
    return result


def _resolve_tag_path(name: str, lora_model_dir: Optional[str]) -> Path:
    raw = Path(name)
    if not raw.is_absolute():
        if lora_model_dir is None:
            raise InvalidArgument(f"the prompt names LoRA {name!r}: pass lora_model_dir= to the Context "
                                  "(or use an absolute path in the tag)")
        raw = Path(lora_model_dir) / raw
    if raw.is_file():
        return raw
    for extension in LORA_EXTENSIONS:
        candidate = raw.with_name(raw.name + extension)
        if candidate.is_file():
            return candidate
    raise InvalidArgument(f"LoRA {name!r} from the prompt not found (looked for {raw} and "
                          f"{', '.join(LORA_EXTENSIONS)})")


def extract_prompt_loras(prompt: str, lora_model_dir: Optional[str]) -> tuple[str, list[Lora]]:
    """Remove sd-cli's ``<lora:name:multiplier>`` tags from ``prompt`` and resolve them.

    Names are looked up in ``lora_model_dir`` (with .gguf/.safetensors/.pt tried when the name has
    no extension); a ``|high_noise|`` prefix targets the high-noise model. Tags naming the same file
    add up their multipliers, as in sd-cli. A tag with a non-numeric multiplier is removed and
    ignored, as in sd-cli; a missing file raises :class:`InvalidArgument` (sd-cli only warns).
    """
    totals: dict[tuple[str, bool], float] = {}
    for match in LORA_TAG.finditer(prompt):
        name, raw_multiplier = match.group(1), match.group(2)
        try:
            multiplier = float(raw_multiplier)
        except ValueError:
            continue
        high_noise = name.startswith(HIGH_NOISE_PREFIX)
        if high_noise:
            name = name[len(HIGH_NOISE_PREFIX):]
        path = os.path.normpath(_resolve_tag_path(name, lora_model_dir))
        totals[(path, high_noise)] = totals.get((path, high_noise), 0.0) + multiplier
    cleaned = LORA_TAG.sub("", prompt)
    loras = [Lora(path, multiplier, high_noise) for (path, high_noise), multiplier in totals.items()]
    for lora in loras:
        model_format(Path(lora.path))
    return cleaned, loras
