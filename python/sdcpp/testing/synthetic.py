"""Synthetic, full-size Stable Diffusion checkpoints with seeded random weights.

No real model can be downloaded in the environments this project is tested in,
so the test-suite fabricates its own: checkpoints whose tensor *names and
shapes* are exactly those of the original single-file releases

* SD v1.5  (``v1-5-pruned-emaonly.safetensors``, CompVis/LDM naming), and
* SDXL base 1.0 (``sd_xl_base_1.0.safetensors``, SGM naming),

but whose *values* are seeded random numbers, initialised so that activations
stay finite and the decoded images are not constant.

The layout of each model is described once, as an ordered list of
:class:`TensorSpec` (name, shape, init kind) built by :func:`sd15_layout` /
:func:`sdxl_layout`.  The same list drives the safetensors writer and the
layout self-check in ``tests/test_synthetic_layout.py``.

Writing is streamed tensor by tensor (and chunk by chunk inside big tensors),
so even the ~3.5 B parameter SDXL checkpoint never needs more than a few tens
of MiB of memory.  Random values come from a 65,536-entry table of normal
quantiles indexed with uniform random 16-bit integers drawn from
:func:`numpy.random.default_rng` (per tensor, seeded from ``(seed, name)``):
the distribution is a fine-grained discretisation of N(0, std^2), about three
times faster to produce than ``standard_normal`` + scale + cast, and fully
deterministic: the same seed gives byte-identical files.

The only dependency is numpy; the safetensors format is written directly
(8-byte little-endian header length, JSON header, raw little-endian data).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import re
import struct
from pathlib import Path
from typing import Any, Dict, Iterator, List, NamedTuple, Optional, Sequence, Set, Tuple, Union

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "GENERATOR_VERSION",
    "SD15_UNET_OUTPUT_BLOCKS",
    "SDXL_UNET_OUTPUT_BLOCKS",
    "TensorSpec",
    "count_params",
    "ensure_synthetic_checkpoint",
    "ensure_synthetic_model",
    "init_std",
    "layout_for",
    "sd15_layout",
    "sdxl_layout",
    "write_safetensors",
    "write_sd15_checkpoint",
    "write_sdxl_checkpoint",
]

#: Bump whenever the produced bytes change (layout, init, RNG use, format).
#: It is part of every cached file name, so a bump invalidates old caches.
#: 2: quantized GGUFs hold flat quantized conv kernels (patches/0003-quantized-conv2d.patch).
GENERATOR_VERSION = 2

#: Number of ``model.diffusion_model.output_blocks.N`` in the SD1.x U-Net.
SD15_UNET_OUTPUT_BLOCKS = 12
#: Number of ``model.diffusion_model.output_blocks.N`` in the SDXL U-Net.
SDXL_UNET_OUTPUT_BLOCKS = 9

KINDS = ("sd15", "sdxl")

PathArg = Union[str, "os.PathLike[str]"]

# --------------------------------------------------------------------------
# Layout description
# --------------------------------------------------------------------------

#: Init kinds used in :class:`TensorSpec.init`:
#:
#: ``weight``      conv / linear weight, N(0, (GAIN / sqrt(fan_in))^2)
#: ``weight_out``  last projection of a residual branch,
#:                 N(0, (OUT_GAIN / sqrt(fan_in))^2) (random, but smaller)
#: ``bias``        N(0, BIAS_STD^2)
#: ``embedding``   N(0, EMBED_STD^2)
#: ``ones``        constant 1 (norm weights)
#: ``zeros``       constant 0 (norm biases)
#: ``logit_scale`` constant ln(100) (CLIP logit scale; unused by the engine)
INIT_KINDS = ("weight", "weight_out", "bias", "embedding", "ones", "zeros", "logit_scale")

GAIN = 1.0
OUT_GAIN = 0.5
BIAS_STD = 0.01
EMBED_STD = 0.02
LOGIT_SCALE = math.log(100.0)


class TensorSpec(NamedTuple):
    """One tensor of a synthetic checkpoint."""

    name: str
    shape: Tuple[int, ...]
    init: str

    @property
    def numel(self) -> int:
        """Number of elements (1 for a 0-d tensor)."""
        return math.prod(self.shape)


def init_std(spec: TensorSpec) -> float:
    """Standard deviation used for a random tensor (0.0 for constants)."""
    if spec.init in ("weight", "weight_out"):
        fan_in = math.prod(spec.shape[1:]) if len(spec.shape) > 1 else 1
        gain = GAIN if spec.init == "weight" else OUT_GAIN
        return gain / math.sqrt(fan_in)
    if spec.init == "bias":
        return BIAS_STD
    if spec.init == "embedding":
        return EMBED_STD
    if spec.init in ("ones", "zeros", "logit_scale"):
        return 0.0
    raise ValueError(f"unknown init kind {spec.init!r} for {spec.name}")


class _Builder:
    """Small helper that appends specs with a shared name prefix."""

    def __init__(self, specs: List[TensorSpec], prefix: str) -> None:
        self.specs = specs
        self.prefix = prefix

    def sub(self, name: str) -> "_Builder":
        return _Builder(self.specs, f"{self.prefix}{name}.")

    def add(self, name: str, shape: Sequence[int], init: str) -> None:
        assert init in INIT_KINDS, init
        self.specs.append(TensorSpec(self.prefix + name, tuple(int(s) for s in shape), init))

    # torch modules -------------------------------------------------------
    def linear(self, name: str, n_in: int, n_out: int, bias: bool = True, out: bool = False) -> None:
        self.add(f"{name}.weight", (n_out, n_in), "weight_out" if out else "weight")
        if bias:
            self.add(f"{name}.bias", (n_out,), "bias")

    def conv(self, name: str, n_in: int, n_out: int, k: int, out: bool = False) -> None:
        self.add(f"{name}.weight", (n_out, n_in, k, k), "weight_out" if out else "weight")
        self.add(f"{name}.bias", (n_out,), "bias")

    def norm(self, name: str, ch: int) -> None:
        """GroupNorm or LayerNorm (same parameters)."""
        self.add(f"{name}.weight", (ch,), "ones")
        self.add(f"{name}.bias", (ch,), "zeros")


# ---- U-Net (ldm.modules.diffusionmodules.openaimodel.UNetModel) -----------


def _unet_resblock(b: _Builder, ch_in: int, ch_out: int, emb_dim: int) -> None:
    b.norm("in_layers.0", ch_in)
    b.conv("in_layers.2", ch_in, ch_out, 3)
    b.linear("emb_layers.1", emb_dim, ch_out)
    b.norm("out_layers.0", ch_out)
    b.conv("out_layers.3", ch_out, ch_out, 3, out=True)
    if ch_in != ch_out:
        b.conv("skip_connection", ch_in, ch_out, 1)


def _unet_spatial_transformer(b: _Builder, ch: int, depth: int, context_dim: int, use_linear: bool) -> None:
    inner = ch  # n_heads * d_head == channels for every SD1.x / SDXL block
    b.norm("norm", ch)
    if use_linear:
        b.linear("proj_in", ch, inner)
    else:
        b.conv("proj_in", ch, inner, 1)
    for d in range(depth):
        t = b.sub(f"transformer_blocks.{d}")
        for attn, kv_dim in (("attn1", inner), ("attn2", context_dim)):
            a = t.sub(attn)
            a.linear("to_q", inner, inner, bias=False)
            a.linear("to_k", kv_dim, inner, bias=False)
            a.linear("to_v", kv_dim, inner, bias=False)
            a.linear("to_out.0", inner, inner, out=True)
        t.linear("ff.net.0.proj", inner, inner * 4 * 2)  # GEGLU
        t.linear("ff.net.2", inner * 4, inner, out=True)
        t.norm("norm1", inner)
        t.norm("norm2", inner)
        t.norm("norm3", inner)
    if use_linear:
        b.linear("proj_out", inner, ch, out=True)
    else:
        b.conv("proj_out", inner, ch, 1, out=True)


def _unet_layout(
    specs: List[TensorSpec],
    prefix: str,
    *,
    in_channels: int,
    out_channels: int,
    model_channels: int,
    channel_mult: Sequence[int],
    num_res_blocks: int,
    transformer_depth: Sequence[int],
    middle_depth: int,
    context_dim: int,
    use_linear: bool,
    adm_in_channels: Optional[int],
) -> None:
    """Original (openaimodel) U-Net names; ``transformer_depth[i] == 0``: no attention at level i."""
    b = _Builder(specs, prefix)
    emb_dim = model_channels * 4
    b.linear("time_embed.0", model_channels, emb_dim)
    b.linear("time_embed.2", emb_dim, emb_dim)
    if adm_in_channels is not None:
        b.linear("label_emb.0.0", adm_in_channels, emb_dim)
        b.linear("label_emb.0.2", emb_dim, emb_dim)

    b.conv("input_blocks.0.0", in_channels, model_channels, 3)
    chans = [model_channels]
    ch = model_channels
    idx = 0
    n_levels = len(channel_mult)
    for level, mult in enumerate(channel_mult):
        for _ in range(num_res_blocks):
            idx += 1
            _unet_resblock(b.sub(f"input_blocks.{idx}.0"), ch, mult * model_channels, emb_dim)
            ch = mult * model_channels
            if transformer_depth[level] > 0:
                _unet_spatial_transformer(
                    b.sub(f"input_blocks.{idx}.1"), ch, transformer_depth[level], context_dim, use_linear
                )
            chans.append(ch)
        if level != n_levels - 1:
            idx += 1
            b.conv(f"input_blocks.{idx}.0.op", ch, ch, 3)
            chans.append(ch)

    _unet_resblock(b.sub("middle_block.0"), ch, ch, emb_dim)
    _unet_spatial_transformer(b.sub("middle_block.1"), ch, middle_depth, context_dim, use_linear)
    _unet_resblock(b.sub("middle_block.2"), ch, ch, emb_dim)

    idx = 0
    for level in reversed(range(n_levels)):
        mult = channel_mult[level]
        for j in range(num_res_blocks + 1):
            ich = chans.pop()
            _unet_resblock(b.sub(f"output_blocks.{idx}.0"), ch + ich, mult * model_channels, emb_dim)
            ch = mult * model_channels
            sub = 1
            if transformer_depth[level] > 0:
                _unet_spatial_transformer(
                    b.sub(f"output_blocks.{idx}.1"), ch, transformer_depth[level], context_dim, use_linear
                )
                sub = 2
            if level > 0 and j == num_res_blocks:
                b.conv(f"output_blocks.{idx}.{sub}.conv", ch, ch, 3)
            idx += 1

    b.norm("out.0", ch)
    b.conv("out.2", model_channels, out_channels, 3)


# ---- VAE (ldm.models.autoencoder.AutoencoderKL, KL-f8) --------------------


def _vae_resnet(b: _Builder, ch_in: int, ch_out: int) -> None:
    b.norm("norm1", ch_in)
    b.conv("conv1", ch_in, ch_out, 3)
    b.norm("norm2", ch_out)
    b.conv("conv2", ch_out, ch_out, 3, out=True)
    if ch_in != ch_out:
        b.conv("nin_shortcut", ch_in, ch_out, 1)


def _vae_mid(b: _Builder, ch: int) -> None:
    _vae_resnet(b.sub("block_1"), ch, ch)
    a = b.sub("attn_1")
    a.norm("norm", ch)
    a.conv("q", ch, ch, 1)  # 1x1 convs in the original LDM/SGM checkpoints
    a.conv("k", ch, ch, 1)
    a.conv("v", ch, ch, 1)
    a.conv("proj_out", ch, ch, 1, out=True)
    _vae_resnet(b.sub("block_2"), ch, ch)


def _vae_layout(
    specs: List[TensorSpec],
    prefix: str,
    *,
    ch: int = 128,
    ch_mult: Sequence[int] = (1, 2, 4, 4),
    num_res_blocks: int = 2,
    z_channels: int = 4,
    embed_dim: int = 4,
    in_out_ch: int = 3,
) -> None:
    b = _Builder(specs, prefix)
    n = len(ch_mult)

    enc = b.sub("encoder")
    enc.conv("conv_in", in_out_ch, ch, 3)
    block_in = ch
    for i in range(n):
        block_in = ch * (1 if i == 0 else ch_mult[i - 1])
        block_out = ch * ch_mult[i]
        for j in range(num_res_blocks):
            _vae_resnet(enc.sub(f"down.{i}.block.{j}"), block_in, block_out)
            block_in = block_out
        if i != n - 1:
            enc.conv(f"down.{i}.downsample.conv", block_in, block_in, 3)
    _vae_mid(enc.sub("mid"), block_in)
    enc.norm("norm_out", block_in)
    enc.conv("conv_out", block_in, 2 * z_channels, 3)

    dec = b.sub("decoder")
    block_in = ch * ch_mult[-1]
    dec.conv("conv_in", z_channels, block_in, 3)
    _vae_mid(dec.sub("mid"), block_in)
    for i in reversed(range(n)):
        block_out = ch * ch_mult[i]
        for j in range(num_res_blocks + 1):
            _vae_resnet(dec.sub(f"up.{i}.block.{j}"), block_in, block_out)
            block_in = block_out
        if i != 0:
            dec.conv(f"up.{i}.upsample.conv", block_in, block_in, 3)
    dec.norm("norm_out", block_in)
    dec.conv("conv_out", block_in, in_out_ch, 3)

    b.conv("quant_conv", 2 * z_channels, 2 * embed_dim, 1)
    b.conv("post_quant_conv", embed_dim, z_channels, 1)


# ---- text encoders --------------------------------------------------------


def _clip_l_layout(specs: List[TensorSpec], prefix: str) -> None:
    """HF ``CLIPTextModel`` (OpenAI ViT-L/14 text tower); ``prefix`` ends in ``text_model.``.

    ``embeddings.position_ids`` is left out: the engine lists it as unused.
    """
    width, layers, vocab, n_pos, mlp = 768, 12, 49408, 77, 3072
    b = _Builder(specs, prefix)
    b.add("embeddings.token_embedding.weight", (vocab, width), "embedding")
    b.add("embeddings.position_embedding.weight", (n_pos, width), "embedding")
    for i in range(layers):
        layer = b.sub(f"encoder.layers.{i}")
        for proj in ("k_proj", "v_proj", "q_proj"):
            layer.linear(f"self_attn.{proj}", width, width)
        layer.linear("self_attn.out_proj", width, width, out=True)
        layer.norm("layer_norm1", width)
        layer.linear("mlp.fc1", width, mlp)
        layer.linear("mlp.fc2", mlp, width, out=True)
        layer.norm("layer_norm2", width)
    b.norm("final_layer_norm", width)


def _open_clip_bigg_layout(specs: List[TensorSpec], prefix: str) -> None:
    """OpenCLIP ViT-bigG/14 text tower as stored in SDXL (``prefix`` ends in ``model.``)."""
    width, layers, vocab, n_pos, mlp, proj_dim = 1280, 32, 49408, 77, 5120, 1280
    b = _Builder(specs, prefix)
    b.add("positional_embedding", (n_pos, width), "embedding")
    b.add("text_projection", (width, proj_dim), "weight")
    b.add("token_embedding.weight", (vocab, width), "embedding")
    b.add("logit_scale", (), "logit_scale")
    b.norm("ln_final", width)
    for i in range(layers):
        r = b.sub(f"transformer.resblocks.{i}")
        r.add("attn.in_proj_weight", (3 * width, width), "weight")
        r.add("attn.in_proj_bias", (3 * width,), "bias")
        r.linear("attn.out_proj", width, width, out=True)
        r.norm("ln_1", width)
        r.norm("ln_2", width)
        r.linear("mlp.c_fc", width, mlp)
        r.linear("mlp.c_proj", mlp, width, out=True)


# ---- full checkpoints -----------------------------------------------------


def sd15_layout() -> List[TensorSpec]:
    """Ordered tensor list of SD v1.5 in the original CompVis/LDM single-file naming.

    Matches ``v1-5-pruned-emaonly.safetensors`` minus ``model_ema.*``, the
    DDPM schedule buffers (``alphas_cumprod`` ...) and ``position_ids``.
    """
    specs: List[TensorSpec] = []
    _unet_layout(
        specs,
        "model.diffusion_model.",
        in_channels=4,
        out_channels=4,
        model_channels=320,
        channel_mult=(1, 2, 4, 4),
        num_res_blocks=2,
        transformer_depth=(1, 1, 1, 0),  # attention_resolutions 4,2,1
        middle_depth=1,
        context_dim=768,
        use_linear=False,
        adm_in_channels=None,
    )
    _vae_layout(specs, "first_stage_model.")
    _clip_l_layout(specs, "cond_stage_model.transformer.text_model.")
    return specs


def sdxl_layout() -> List[TensorSpec]:
    """Ordered tensor list of SDXL base 1.0 in the original SGM single-file naming.

    Matches ``sd_xl_base_1.0.safetensors`` minus
    ``conditioner.embedders.0.transformer.text_model.embeddings.position_ids``.
    """
    specs: List[TensorSpec] = []
    _unet_layout(
        specs,
        "model.diffusion_model.",
        in_channels=4,
        out_channels=4,
        model_channels=320,
        channel_mult=(1, 2, 4),
        num_res_blocks=2,
        transformer_depth=(0, 2, 10),  # attention_resolutions 4,2
        middle_depth=10,
        context_dim=2048,
        use_linear=True,
        adm_in_channels=2816,
    )
    _vae_layout(specs, "first_stage_model.")
    _clip_l_layout(specs, "conditioner.embedders.0.transformer.text_model.")
    _open_clip_bigg_layout(specs, "conditioner.embedders.1.model.")
    return specs


def layout_for(kind: str) -> List[TensorSpec]:
    """Layout of ``kind`` (``"sd15"`` or ``"sdxl"``)."""
    if kind == "sd15":
        return sd15_layout()
    if kind == "sdxl":
        return sdxl_layout()
    raise ValueError(f"unknown synthetic model kind {kind!r}; expected one of {KINDS}")


def count_params(layout: Sequence[TensorSpec], prefix: str = "") -> int:
    """Total number of elements of the tensors whose name starts with ``prefix``."""
    return sum(s.numel for s in layout if s.name.startswith(prefix))


# --------------------------------------------------------------------------
# Random data
# --------------------------------------------------------------------------

_DTYPES: Dict[str, Tuple[str, "np.dtype[Any]"]] = {
    # name -> (safetensors dtype, numpy storage dtype)
    "f16": ("F16", np.dtype("<f2")),
    "bf16": ("BF16", np.dtype("<u2")),
    "f32": ("F32", np.dtype("<f4")),
}
_DTYPE_ALIASES = {"fp16": "f16", "float16": "f16", "fp32": "f32", "float32": "f32", "bfloat16": "bf16"}

_CHUNK = 1 << 21  # elements generated / written per step
_TABLE_BITS = 16


def _norm_dtype(dtype: str) -> str:
    d = dtype.lower()
    d = _DTYPE_ALIASES.get(d, d)
    if d not in _DTYPES:
        raise ValueError(f"unsupported dtype {dtype!r}; expected one of {sorted(_DTYPES)}")
    return d


def _inverse_normal_cdf(p: NDArray[np.float64]) -> NDArray[np.float64]:
    """Acklam's rational approximation of the standard normal quantile (rel. err < 1.2e-9)."""
    a = (-3.969683028665376e01, 2.209460984245205e02, -2.759285104469687e02,
         1.383577518672690e02, -3.066479806614716e01, 2.506628277459239e00)
    b = (-5.447609879822406e01, 1.615858368580409e02, -1.556989798598866e02,
         6.680131188771972e01, -1.328068155288572e01)
    c = (-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e00,
         -2.549671010229583e00, 4.374664141464968e00, 2.938163982698783e00)
    d = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e00,
         3.754408661907416e00)
    p = np.asarray(p, dtype=np.float64)
    x = np.empty_like(p)
    p_low = 0.02425
    lo = p < p_low
    hi = p > 1.0 - p_low
    mid = ~(lo | hi)

    def tail(q: NDArray[np.float64]) -> NDArray[np.float64]:
        q = np.sqrt(-2.0 * np.log(q))
        num = ((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]
        den = (((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0
        return num / den

    x[lo] = tail(p[lo])
    x[hi] = -tail(1.0 - p[hi])
    q = p[mid] - 0.5
    r = q * q
    num = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q
    den = ((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0
    x[mid] = num / den
    return x


_UNIT_TABLE: Optional[NDArray[np.float64]] = None


def _unit_table() -> NDArray[np.float64]:
    """2**16 normal quantiles at (k + 0.5) / 2**16, rescaled to exactly zero mean / unit std."""
    global _UNIT_TABLE
    if _UNIT_TABLE is None:
        n = 1 << _TABLE_BITS
        t = _inverse_normal_cdf((np.arange(n, dtype=np.float64) + 0.5) / n)
        t -= t.mean()
        t /= t.std()
        _UNIT_TABLE = t
    return _UNIT_TABLE


def _to_storage(values: NDArray[np.float64], dtype: str) -> NDArray[Any]:
    """float64 values -> storage array (f16 / f32 / bf16 bits) in little-endian."""
    if dtype == "f16":
        return values.astype("<f2")
    if dtype == "f32":
        return values.astype("<f4")
    # bf16: round-to-nearest-even of the float32 bit pattern
    bits = values.astype("<f4").view("<u4").astype(np.uint64)
    rounded = (bits + np.uint64(0x7FFF) + ((bits >> np.uint64(16)) & np.uint64(1))) >> np.uint64(16)
    return rounded.astype("<u2")


def _tensor_rng(seed: int, name: str) -> np.random.Generator:
    h = hashlib.sha256(name.encode("utf-8")).digest()
    words = struct.unpack("<4I", h[:16])
    return np.random.default_rng(np.random.SeedSequence([int(seed) & 0xFFFFFFFF, *words]))


def _iter_tensor_chunks(spec: TensorSpec, seed: int, dtype: str, buf: NDArray[Any]) -> Iterator[NDArray[Any]]:
    """Yield the tensor's data (little-endian storage dtype) in views of ``buf``."""
    n = spec.numel
    std = init_std(spec)
    if std == 0.0:
        value = {"ones": 1.0, "zeros": 0.0, "logit_scale": LOGIT_SCALE}[spec.init]
        const = _to_storage(np.array([value], dtype=np.float64), dtype)[0]
        buf[: min(n, buf.size)] = const
        for start in range(0, n, buf.size):
            yield buf[: min(buf.size, n - start)]
        return
    lut = _to_storage(_unit_table() * std, dtype)
    rng = _tensor_rng(seed, spec.name)
    for start in range(0, n, buf.size):
        m = min(buf.size, n - start)
        idx = rng.integers(0, 1 << _TABLE_BITS, size=m, dtype=np.uint16)
        out = buf[:m]
        np.take(lut, idx, out=out)
        yield out


# --------------------------------------------------------------------------
# safetensors writer
# --------------------------------------------------------------------------


def _safetensors_header(layout: Sequence[TensorSpec], dtype: str) -> bytes:
    st_dtype, np_dtype = _DTYPES[dtype]
    header: Dict[str, object] = {"__metadata__": {"format": "pt"}}
    offset = 0
    seen: Set[str] = set()
    for spec in layout:
        if spec.name in seen:
            raise ValueError(f"duplicate tensor name {spec.name}")
        seen.add(spec.name)
        nbytes = spec.numel * np_dtype.itemsize
        header[spec.name] = {"dtype": st_dtype, "shape": list(spec.shape), "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * (-len(raw) % 8)  # keep the data section 8-byte aligned
    return raw


def write_safetensors(path: PathArg, layout: Sequence[TensorSpec], seed: int = 0, dtype: str = "f16") -> Path:
    """Write ``layout`` with seeded random data as a safetensors file, streaming tensor by tensor.

    Args:
        path: destination file (overwritten).
        layout: ordered tensor specs (see :func:`sd15_layout`).
        seed: RNG seed; each tensor's stream is derived from ``(seed, name)``.
        dtype: ``"f16"`` (default), ``"bf16"`` or ``"f32"``; every tensor is stored in it.

    Returns:
        The path written.
    """
    dtype = _norm_dtype(dtype)
    _, np_dtype = _DTYPES[dtype]
    path = Path(path)
    header = _safetensors_header(layout, dtype)
    buf = np.empty(_CHUNK, dtype=np_dtype)
    with open(path, "wb", buffering=1 << 22) as f:
        f.write(struct.pack("<Q", len(header)))
        f.write(header)
        for spec in layout:
            for chunk in _iter_tensor_chunks(spec, seed, dtype, buf):
                f.write(chunk.data)
    return path


def write_sd15_checkpoint(path: PathArg, seed: int = 0, dtype: str = "f16") -> Path:
    """Write a synthetic single-file SD v1.5 checkpoint (original LDM names) to ``path``.

    Contains ``model.diffusion_model.*`` (U-Net, 859.5 M params),
    ``first_stage_model.*`` (KL-f8 VAE, 83.7 M) and
    ``cond_stage_model.transformer.text_model.*`` (CLIP ViT-L/14 text, 123.1 M).
    About 2.1 GB in f16.  Deterministic: the same seed gives identical bytes.
    """
    return write_safetensors(path, sd15_layout(), seed=seed, dtype=dtype)


def write_sdxl_checkpoint(path: PathArg, seed: int = 0, dtype: str = "f16") -> Path:
    """Write a synthetic single-file SDXL base 1.0 checkpoint (original SGM names) to ``path``.

    Contains ``model.diffusion_model.*`` (U-Net, 2.57 B params),
    ``first_stage_model.*`` (VAE), ``conditioner.embedders.0.transformer.text_model.*``
    (CLIP-L) and ``conditioner.embedders.1.model.*`` (OpenCLIP ViT-bigG text).
    About 7 GB in f16, written in a streaming fashion.  Deterministic.
    """
    return write_safetensors(path, sdxl_layout(), seed=seed, dtype=dtype)


# --------------------------------------------------------------------------
# Cache
# --------------------------------------------------------------------------

_WRITERS = {"sd15": write_sd15_checkpoint, "sdxl": write_sdxl_checkpoint}
_QUANT_RE = re.compile(r"^[a-z0-9_]+$")


def _cache_root(cache_dir: Optional[PathArg]) -> Path:
    if cache_dir is None:
        env = os.environ.get("SDCPP_CACHE_DIR")
        cache_dir = env if env else Path.home() / ".cache" / "sdcpp"
    root = Path(cache_dir).expanduser() / "synthetic"
    root.mkdir(parents=True, exist_ok=True)
    return root


def _check_kind(kind: str) -> None:
    if kind not in _WRITERS:
        raise ValueError(f"unknown synthetic model kind {kind!r}; expected one of {KINDS}")


def _stem(kind: str, seed: int) -> str:
    return f"{kind}-synthetic-v{GENERATOR_VERSION}-seed{int(seed)}"


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """Exclusive advisory lock on ``path`` (no-op where fcntl is unavailable)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - non-POSIX
        yield
        return
    with open(path, "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _tmp_sibling(final: Path) -> Path:
    # keep the real extension last: some tools look at it
    return final.with_name(f".{final.stem}.tmp{os.getpid()}{final.suffix}")


def _build_checkpoint(root: Path, kind: str, seed: int, dtype: str) -> Tuple[Path, bool]:
    """Make sure the safetensors source exists (caller holds the lock). Returns (path, created)."""
    final = root / f"{_stem(kind, seed)}-{dtype}.safetensors"
    if final.exists():
        return final, False
    tmp = _tmp_sibling(final)
    try:
        _WRITERS[kind](tmp, seed=seed, dtype=dtype)
        os.replace(tmp, final)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return final, True


def ensure_synthetic_checkpoint(
    kind: str = "sd15",
    dtype: str = "f16",
    cache_dir: Optional[PathArg] = None,
    seed: int = 0,
) -> Path:
    """Return a cached synthetic safetensors checkpoint, writing it when missing.

    The file lives in ``<cache>/synthetic/`` (``cache_dir``, else ``$SDCPP_CACHE_DIR``,
    else ``~/.cache/sdcpp``) and its name carries the generator version and seed.
    """
    _check_kind(kind)
    dtype = _norm_dtype(dtype)
    root = _cache_root(cache_dir)
    with _file_lock(root / f"{_stem(kind, seed)}.lock"):
        path, _ = _build_checkpoint(root, kind, seed, dtype)
    return path


def ensure_synthetic_model(
    kind: str = "sd15",
    quant: str = "q8_0",
    cache_dir: Optional[PathArg] = None,
    *,
    seed: int = 0,
    keep_source: bool = False,
) -> Path:
    """Return the path of a cached synthetic GGUF model, building it when missing.

    Building writes the synthetic safetensors checkpoint (:func:`write_sd15_checkpoint`
    or :func:`write_sdxl_checkpoint`, f16 unless ``quant == "f32"``) into the cache,
    converts it with ``sdcpp.convert.convert`` to a temporary name and renames it
    atomically into place.  The safetensors source is deleted afterwards unless
    ``keep_source`` is true (a source that already existed is left alone).
    An fcntl lock per (kind, seed) keeps concurrent processes from building the
    same files at once.

    Args:
        kind: ``"sd15"`` or ``"sdxl"``.
        quant: GGUF weight type passed to the converter: ``"f16"``, ``"q8_0"``, ``"q4_0"``, ...
        cache_dir: cache root; default ``$SDCPP_CACHE_DIR`` or ``~/.cache/sdcpp``.
            Files go to ``<cache_dir>/synthetic/``.
        seed: weight seed (part of the file name).
        keep_source: keep the intermediate safetensors file in the cache.

    Returns:
        Path of ``<cache>/synthetic/<kind>-synthetic-v<GENERATOR_VERSION>-seed<seed>-<quant>.gguf``.
    """
    _check_kind(kind)
    quant = quant.lower()
    if not _QUANT_RE.match(quant):
        raise ValueError(f"invalid quant {quant!r}")
    root = _cache_root(cache_dir)
    final = root / f"{_stem(kind, seed)}-{quant}.gguf"
    if final.exists():
        return final

    with _file_lock(root / f"{_stem(kind, seed)}.lock"):
        if final.exists():  # built by another process while we waited
            return final
        from sdcpp.convert import convert  # imported lazily: needs the native extension

        src_dtype = "f32" if quant == "f32" else "f16"
        src, created = _build_checkpoint(root, kind, seed, src_dtype)
        tmp = _tmp_sibling(final)
        try:
            convert(input_path=str(src), output_path=str(tmp), type=quant)
            if not tmp.exists() or tmp.stat().st_size == 0:
                raise RuntimeError(f"sdcpp.convert.convert produced no output at {tmp}")
            os.replace(tmp, final)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            if created and not keep_source:
                with contextlib.suppress(FileNotFoundError):
                    src.unlink()
    return final
