"""Synthetic add-on models for tests: a LoRA, a ControlNet and an ESRGAN upscaler.

Like :mod:`sdcpp.testing.synthetic`, these files cannot be downloaded where sdcpp is tested, so
they are fabricated: the tensor *names and shapes* are those of the real formats that
stable-diffusion.cpp loads, the *values* are seeded random numbers.  Every writer is
deterministic (same arguments, byte-identical file) and each has a cached variant
(``ensure_*``) that writes the file once under ``<cache>/synthetic/``, atomically and under a
file lock, with the generator version and every parameter in the file name.

* :func:`write_sd15_lora` -- a kohya-ss (sd-scripts) LoRA for the synthetic SD1.5 model:
  diffusers module names (``lora_unet_down_blocks_0_attentions_0_proj_in``,
  ``lora_te_text_model_encoder_layers_0_mlp_fc1``), ``lora_down`` / ``lora_up`` / ``alpha``,
  covering every Transformer2DModel of the U-Net and every CLIP attention/MLP layer, the modules
  sd-scripts trains by default.
* :func:`write_sd15_controlnet` -- an SD1.5 ControlNet (lllyasviel's ``control_model.*`` names):
  the U-Net encoder and middle block, ``input_hint_block``, ``zero_convs`` and
  ``middle_block_out``, with random (non-zero) zero-convolutions so a control image changes
  the output.
* :func:`write_esrgan` -- a BasicSR RRDBNet (the Real-ESRGAN layout: ``conv_first``,
  ``body.N.rdbM.convK``, ``conv_body``, ``conv_up1``/``conv_up2``, ``conv_hr``, ``conv_last``)
  with the engine's fixed 64 features and a chosen (small) number of blocks, initialised close to
  a nearest-neighbour upscaler so its output still looks like its input.
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import struct
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple

import numpy as np
from numpy.typing import NDArray

from .synthetic import (
    _CHUNK,
    _DTYPES,
    PathArg,
    TensorSpec,
    _cache_root,
    _file_lock,
    _iter_tensor_chunks,
    _norm_dtype,
    _safetensors_header,
    _tensor_rng,
    _tmp_sibling,
    _to_storage,
    _unit_table,
    init_std,
    sd15_layout,
)

__all__ = [
    "ASSETS_VERSION",
    "ESRGAN_NUM_FEATURES",
    "controlnet_sd15_layout",
    "ensure_esrgan",
    "ensure_sd15_controlnet",
    "ensure_sd15_lora",
    "esrgan_layout",
    "sd15_lora_targets",
    "write_esrgan",
    "write_sd15_controlnet",
    "write_sd15_lora",
]

#: Bump whenever the bytes produced by a writer here change; part of every cached file name.
ASSETS_VERSION = 1

#: Feature channels of the RRDBNet the engine builds (it does not read them from the file).
ESRGAN_NUM_FEATURES = 64
#: Growth channels of each residual dense block (also fixed in the engine).
ESRGAN_GROWTH_CHANNELS = 32

_UNET = "model.diffusion_model."
_CLIP = "cond_stage_model.transformer.text_model."

# --------------------------------------------------------------------------
# Small safetensors writer for tensors held in memory (LoRA, ESRGAN)
# --------------------------------------------------------------------------

_ST_DTYPES: Dict[str, Tuple[str, str]] = {"f16": ("F16", "<f2"), "f32": ("F32", "<f4")}


def _write_arrays(path: Path, tensors: Mapping[str, NDArray[Any]], dtype: str,
                  metadata: Optional[Mapping[str, str]] = None) -> Path:
    """Write ``tensors`` (name -> array, any shape including 0-d) as one safetensors file."""
    if dtype not in _ST_DTYPES:
        raise ValueError(f"unsupported dtype {dtype!r}; expected one of {sorted(_ST_DTYPES)}")
    st_dtype, np_dtype = _ST_DTYPES[dtype]
    header: Dict[str, object] = {"__metadata__": dict(metadata or {"format": "pt"})}
    blobs: List[bytes] = []
    offset = 0
    for name, array in tensors.items():
        data = np.ascontiguousarray(array, dtype=np_dtype).tobytes()
        header[name] = {"dtype": st_dtype, "shape": list(array.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * (-len(raw) % 8)
    with open(path, "wb") as stream:
        stream.write(struct.pack("<Q", len(raw)))
        stream.write(raw)
        for blob in blobs:
            stream.write(blob)
    return path


def _normal(seed: int, name: str, shape: Tuple[int, ...], std: float) -> NDArray[np.float64]:
    """Seeded N(0, std^2) values for tensor ``name`` (the stream depends on seed and name only)."""
    return _tensor_rng(seed, name).standard_normal(shape) * std


# --------------------------------------------------------------------------
# LoRA (kohya-ss / sd-scripts format, SD1.5)
# --------------------------------------------------------------------------

# U-Net Transformer2DModel blocks: original (LDM) prefix -> diffusers prefix (as in kohya names).
_SD15_TRANSFORMERS: Tuple[Tuple[str, str], ...] = (
    ("input_blocks.1.1", "down_blocks.0.attentions.0"),
    ("input_blocks.2.1", "down_blocks.0.attentions.1"),
    ("input_blocks.4.1", "down_blocks.1.attentions.0"),
    ("input_blocks.5.1", "down_blocks.1.attentions.1"),
    ("input_blocks.7.1", "down_blocks.2.attentions.0"),
    ("input_blocks.8.1", "down_blocks.2.attentions.1"),
    ("middle_block.1", "mid_block.attentions.0"),
    ("output_blocks.3.1", "up_blocks.1.attentions.0"),
    ("output_blocks.4.1", "up_blocks.1.attentions.1"),
    ("output_blocks.5.1", "up_blocks.1.attentions.2"),
    ("output_blocks.6.1", "up_blocks.2.attentions.0"),
    ("output_blocks.7.1", "up_blocks.2.attentions.1"),
    ("output_blocks.8.1", "up_blocks.2.attentions.2"),
    ("output_blocks.9.1", "up_blocks.3.attentions.0"),
    ("output_blocks.10.1", "up_blocks.3.attentions.1"),
    ("output_blocks.11.1", "up_blocks.3.attentions.2"),
)
_TRANSFORMER_MODULES = (
    "proj_in", "proj_out",
    "transformer_blocks.0.attn1.to_q", "transformer_blocks.0.attn1.to_k",
    "transformer_blocks.0.attn1.to_v", "transformer_blocks.0.attn1.to_out.0",
    "transformer_blocks.0.attn2.to_q", "transformer_blocks.0.attn2.to_k",
    "transformer_blocks.0.attn2.to_v", "transformer_blocks.0.attn2.to_out.0",
    "transformer_blocks.0.ff.net.0.proj", "transformer_blocks.0.ff.net.2",
)
_CLIP_MODULES = ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.out_proj",
                 "mlp.fc1", "mlp.fc2")
_CLIP_LAYERS = 12


def sd15_lora_targets(text_encoder: bool = True) -> List[Tuple[str, str]]:
    """The layers the SD1.5 LoRA patches: (kohya module name, model weight name) pairs.

    The model weight name is the tensor of the synthetic SD1.5 checkpoint
    (``model.diffusion_model.input_blocks.1.1.proj_in.weight``) that the engine adds the
    LoRA's ``lora_up @ lora_down * alpha / rank`` to.
    """
    targets = []
    for ldm, diffusers in _SD15_TRANSFORMERS:
        for module in _TRANSFORMER_MODULES:
            kohya = "lora_unet_" + f"{diffusers}.{module}".replace(".", "_")
            targets.append((kohya, f"{_UNET}{ldm}.{module}.weight"))
    if text_encoder:
        for layer in range(_CLIP_LAYERS):
            for module in _CLIP_MODULES:
                kohya = "lora_te_" + f"text_model.encoder.layers.{layer}.{module}".replace(".", "_")
                targets.append((kohya, f"{_CLIP}encoder.layers.{layer}.{module}.weight"))
    return targets


def write_sd15_lora(path: PathArg, rank: int = 4, seed: int = 0, scale: float = 1.0, *,
                    text_encoder: bool = True, dtype: str = "f16") -> Path:
    """Write a kohya-style LoRA for the synthetic SD1.5 model to ``path``.

    Every Transformer2DModel of the U-Net (proj_in/proj_out, attn1/attn2 q/k/v/out, the
    feed-forward) and, with ``text_encoder``, every CLIP layer's attention and MLP get a
    ``lora_down`` (rank x in), ``lora_up`` (out x rank) and ``alpha`` (= rank / 2) tensor,
    kohya-named (``lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q``);
    1x1 convolutions (proj_in/proj_out of SD1.x) get 4-d down/up weights as sd-scripts writes
    them.

    Args:
        path: the ``.safetensors`` file to write (overwritten).
        rank: LoRA rank (``ss_network_dim``).
        seed: RNG seed; each tensor's values are derived from (seed, name).
        scale: the standard deviation of each weight change at multiplier 1, relative to the
            standard deviation of the synthetic weight it patches. 1.0 changes a 64x64
            generation of the synthetic model visibly; 0 writes a LoRA that changes nothing.
        text_encoder: also patch the CLIP text encoder.
        dtype: ``"f16"`` (as sd-scripts saves) or ``"f32"``.

    Returns:
        The path written.
    """
    if isinstance(rank, bool) or not isinstance(rank, int) or rank < 1:
        raise ValueError(f"rank must be a positive integer, got {rank!r}")
    if not math.isfinite(scale) or scale < 0:
        raise ValueError(f"scale must be a finite number >= 0, got {scale!r}")
    dtype = _norm_dtype(dtype)
    specs = {spec.name: spec for spec in sd15_layout()}
    alpha = rank / 2.0
    tensors: Dict[str, NDArray[Any]] = {}
    for kohya, weight_name in sd15_lora_targets(text_encoder):
        spec = specs[weight_name]
        n_out, n_in = spec.shape[0], spec.shape[1]
        kernel = spec.shape[2:]  # (1, 1) for SD1.x's proj_in/proj_out, () for linears
        # delta = up @ down * alpha / rank; var(delta) = rank * var(up) * var(down) * (alpha/rank)^2.
        down_std = 1.0 / math.sqrt(n_in)
        up_std = scale * init_std(spec) * math.sqrt(n_in) / math.sqrt(rank) * (rank / alpha)
        tensors[f"{kohya}.lora_down.weight"] = _normal(seed, f"{kohya}.lora_down", (rank, n_in, *kernel), down_std)
        tensors[f"{kohya}.lora_up.weight"] = _normal(seed, f"{kohya}.lora_up", (n_out, rank, *kernel), up_std)
        tensors[f"{kohya}.alpha"] = np.array(alpha)
    metadata = {
        "format": "pt",
        "ss_network_module": "networks.lora",
        "ss_network_dim": str(rank),
        "ss_network_alpha": str(alpha),
        "ss_base_model_version": "sd_v1",
        "sdcpp_synthetic": f"assets-v{ASSETS_VERSION} seed={seed} scale={scale}",
    }
    return _write_arrays(Path(path), tensors, dtype, metadata)


# --------------------------------------------------------------------------
# ControlNet (SD1.5, lllyasviel ControlNet v1.x layout)
# --------------------------------------------------------------------------

#: Gain of the ControlNet's input_hint_block convolutions (std = gain / sqrt(fan_in)). With the
#: plain gain of 1 the seven SiLUs shrink the hint ~10x and two different control images give
#: almost the same output; 1.7 keeps the hint of the order of the U-Net's first features.
HINT_GAIN = 1.7

# input_hint_block: index -> (in, out) of each 3x3 conv (SiLU between them)
_HINT_CONVS = ((0, 3, 16), (2, 16, 16), (4, 16, 32), (6, 32, 32), (8, 32, 96), (10, 96, 96),
               (12, 96, 256), (14, 256, 320))
# channels of zero_convs.0 ... zero_convs.11 (the U-Net's input_block_chans for SD1.x)
_SD15_ZERO_CONV_CHANNELS = (320, 320, 320, 320, 640, 640, 640, 1280, 1280, 1280, 1280, 1280)


def controlnet_sd15_layout(prefix: str = "control_model.") -> List[TensorSpec]:
    """Ordered tensor list of an SD1.5 ControlNet (361 M parameters).

    The U-Net part (``time_embed``, ``input_blocks``, ``middle_block``) has exactly the shapes of
    the SD1.5 U-Net; ``input_hint_block``, ``zero_convs`` and ``middle_block_out`` are the
    ControlNet's own. Zero convolutions get the ``weight_out`` init (random, not zero), so the
    ControlNet's residuals are of the order of the U-Net's features.
    """
    specs: List[TensorSpec] = []
    for spec in sd15_layout():
        if not spec.name.startswith(_UNET):
            continue
        local = spec.name[len(_UNET):]
        if local.startswith(("time_embed.", "input_blocks.", "middle_block.")):
            specs.append(TensorSpec(prefix + local, spec.shape, spec.init))
    for index, n_in, n_out in _HINT_CONVS:
        specs.append(TensorSpec(f"{prefix}input_hint_block.{index}.weight", (n_out, n_in, 3, 3), "weight"))
        specs.append(TensorSpec(f"{prefix}input_hint_block.{index}.bias", (n_out,), "bias"))
    for index, channels in enumerate(_SD15_ZERO_CONV_CHANNELS):
        specs.append(TensorSpec(f"{prefix}zero_convs.{index}.0.weight", (channels, channels, 1, 1), "weight_out"))
        specs.append(TensorSpec(f"{prefix}zero_convs.{index}.0.bias", (channels,), "bias"))
    specs.append(TensorSpec(f"{prefix}middle_block_out.0.weight", (1280, 1280, 1, 1), "weight_out"))
    specs.append(TensorSpec(f"{prefix}middle_block_out.0.bias", (1280,), "bias"))
    return specs


def write_sd15_controlnet(path: PathArg, seed: int = 0, dtype: str = "f16") -> Path:
    """Write a synthetic SD1.5 ControlNet to ``path`` (about 723 MB in f16, streamed).

    Loads with ``sd_ctx_params_t.control_net_path`` next to the synthetic SD1.5 model; a control
    image then changes the generated image, and two different control images give two different
    images.

    Args:
        path: the ``.safetensors`` file to write (overwritten).
        seed: RNG seed; each tensor's values are derived from (seed, name).
        dtype: ``"f16"``, ``"bf16"`` or ``"f32"``.

    Returns:
        The path written.
    """
    dtype = _norm_dtype(dtype)
    layout = controlnet_sd15_layout()
    stds = {spec.name: HINT_GAIN / math.sqrt(math.prod(spec.shape[1:]))
            for spec in layout if ".input_hint_block." in spec.name and spec.name.endswith(".weight")}
    return _write_streamed(Path(path), layout, seed, dtype, stds)


def _write_streamed(path: Path, layout: List[TensorSpec], seed: int, dtype: str,
                    stds: Mapping[str, float]) -> Path:
    """:func:`sdcpp.testing.write_safetensors` with the standard deviation of some tensors overridden."""
    header = _safetensors_header(layout, dtype)
    buf = np.empty(_CHUNK, dtype=_DTYPES[dtype][1])
    with open(path, "wb", buffering=1 << 22) as stream:
        stream.write(struct.pack("<Q", len(header)))
        stream.write(header)
        for spec in layout:
            if spec.name not in stds:
                for chunk in _iter_tensor_chunks(spec, seed, dtype, buf):
                    stream.write(chunk.data)
                continue
            lut = _to_storage(_unit_table() * stds[spec.name], dtype)
            rng = _tensor_rng(seed, spec.name)
            for start in range(0, spec.numel, buf.size):
                count = min(buf.size, spec.numel - start)
                out = buf[:count]
                np.take(lut, rng.integers(0, 1 << 16, size=count, dtype=np.uint16), out=out)
                stream.write(out.data)
    return path


# --------------------------------------------------------------------------
# ESRGAN (BasicSR RRDBNet, as Real-ESRGAN ships it)
# --------------------------------------------------------------------------

_ESRGAN_SCALES = (1, 2, 4)


def esrgan_layout(scale: int = 4, num_blocks: int = 1) -> List[Tuple[str, Tuple[int, ...]]]:
    """(name, shape) of every tensor of an RRDBNet with 64 features in BasicSR naming.

    The engine infers the block count from the ``body.N`` names and the scale from
    ``conv_up1`` / ``conv_up2`` (neither: 1, ``conv_up1``: 2, both: 4).
    """
    if scale not in _ESRGAN_SCALES:
        raise ValueError(f"scale must be one of {_ESRGAN_SCALES}, got {scale!r}")
    if isinstance(num_blocks, bool) or not isinstance(num_blocks, int) or num_blocks < 1:
        raise ValueError(f"num_blocks must be a positive integer, got {num_blocks!r}")
    feat, grow = ESRGAN_NUM_FEATURES, ESRGAN_GROWTH_CHANNELS
    layout: List[Tuple[str, Tuple[int, ...]]] = []

    def conv(name: str, n_in: int, n_out: int) -> None:
        layout.append((f"{name}.weight", (n_out, n_in, 3, 3)))
        layout.append((f"{name}.bias", (n_out,)))

    conv("conv_first", 3, feat)
    for block in range(num_blocks):
        for rdb in (1, 2, 3):
            for k in range(1, 6):
                conv(f"body.{block}.rdb{rdb}.conv{k}", feat + (k - 1) * grow, grow if k < 5 else feat)
    conv("conv_body", feat, feat)
    if scale >= 2:
        conv("conv_up1", feat, feat)
    if scale == 4:
        conv("conv_up2", feat, feat)
    conv("conv_hr", feat, feat)
    conv("conv_last", feat, 3)
    return layout


def write_esrgan(path: PathArg, scale: int = 4, num_blocks: int = 1, seed: int = 0, *,
                 noise: float = 0.05, dtype: str = "f16") -> Path:
    """Write a small synthetic ESRGAN (RRDBNet) upscaler to ``path``.

    The network is initialised close to a nearest-neighbour upscaler: the first three feature
    channels carry the RGB image through ``conv_first``, the upsampling convolutions,
    ``conv_hr`` and ``conv_last`` (identity taps; the leaky ReLUs pass non-negative values
    unchanged), and every weight gets seeded random values on top (``noise`` times the usual
    1/sqrt(fan_in) scale; the residual blocks get the full scale, damped by RRDB's own 0.2
    factors). The upscaled image is therefore recognisably the input, with some deterministic
    texture.

    Args:
        path: the ``.safetensors`` file to write (overwritten).
        scale: 1, 2 or 4 (the engine's RRDBNet supports these).
        num_blocks: RRDB blocks (Real-ESRGAN x4plus has 23; 1 keeps tests fast: 1.7 MB in f16,
            each further block adds 1.4 MB).
        seed: RNG seed; each tensor's values are derived from (seed, name).
        noise: size of the random part of the non-residual convolutions.
        dtype: ``"f16"`` or ``"f32"``.

    Returns:
        The path written.
    """
    if not math.isfinite(noise) or noise < 0:
        raise ValueError(f"noise must be a finite number >= 0, got {noise!r}")
    dtype = _norm_dtype(dtype)
    tensors: Dict[str, NDArray[Any]] = {}
    for name, shape in esrgan_layout(scale, num_blocks):
        if len(shape) == 1:
            tensors[name] = np.zeros(shape)
            continue
        fan_in = shape[1] * shape[2] * shape[3]
        in_body = name.startswith("body.")
        std = (1.0 if in_body else noise) / math.sqrt(fan_in)
        weight = _normal(seed, name, shape, std)
        if name == "conv_body.weight":
            weight *= 0.2  # keep the body's residual small next to the carried image
        if not in_body and name != "conv_body.weight":
            for channel in range(3):  # carry RGB through channels 0..2 with a centre tap
                weight[channel, channel, 1, 1] += 1.0
        tensors[name] = weight
    metadata = {"format": "pt", "sdcpp_synthetic": f"assets-v{ASSETS_VERSION} esrgan seed={seed}"}
    return _write_arrays(Path(path), tensors, dtype, metadata)


# --------------------------------------------------------------------------
# Cache
# --------------------------------------------------------------------------


def _cached(cache_dir: Optional[PathArg], name: str, write: Any) -> Path:
    """``<cache>/synthetic/<name>``, written by ``write(tmp_path)`` when missing (locked, atomic)."""
    root = _cache_root(cache_dir)
    final = root / name
    if final.exists():
        return final
    with _file_lock(root / f"{final.stem}.lock"):
        if final.exists():
            return final
        tmp = _tmp_sibling(final)
        try:
            write(tmp)
            os.replace(tmp, final)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
    return final


def _number(value: float) -> str:
    return format(value, "g").replace(".", "p").replace("-", "m")


def ensure_sd15_lora(cache_dir: Optional[PathArg] = None, *, rank: int = 4, seed: int = 0,
                     scale: float = 1.0, text_encoder: bool = True) -> Path:
    """The cached LoRA of :func:`write_sd15_lora` (f16), written when missing.

    The file is ``<cache>/synthetic/sd15-lora-v<ASSETS_VERSION>-r<rank>-s<scale>[-unet]-seed<seed>.safetensors``;
    ``cache_dir`` as in :func:`sdcpp.testing.ensure_synthetic_model`. The engine's LoRA name is
    the file stem, so a test can put the file in a LoRA directory or pass the path itself.
    """
    name = f"sd15-lora-v{ASSETS_VERSION}-r{rank}-s{_number(scale)}{'' if text_encoder else '-unet'}-seed{seed}.safetensors"
    return _cached(cache_dir, name, lambda tmp: write_sd15_lora(tmp, rank, seed, scale, text_encoder=text_encoder))


def ensure_sd15_controlnet(cache_dir: Optional[PathArg] = None, *, seed: int = 0, dtype: str = "f16") -> Path:
    """The cached ControlNet of :func:`write_sd15_controlnet`, written when missing (~723 MB, seconds)."""
    dtype = _norm_dtype(dtype)
    name = f"sd15-controlnet-v{ASSETS_VERSION}-seed{seed}-{dtype}.safetensors"
    return _cached(cache_dir, name, lambda tmp: write_sd15_controlnet(tmp, seed, dtype))


def ensure_esrgan(cache_dir: Optional[PathArg] = None, *, scale: int = 4, num_blocks: int = 1,
                  seed: int = 0) -> Path:
    """The cached ESRGAN of :func:`write_esrgan` (f16), written when missing (1.7 MB with one block)."""
    esrgan_layout(scale, num_blocks)  # validate before naming a file
    name = f"esrgan-x{scale}-b{num_blocks}-v{ASSETS_VERSION}-seed{seed}.safetensors"
    return _cached(cache_dir, name, lambda tmp: write_esrgan(tmp, scale, num_blocks, seed))
