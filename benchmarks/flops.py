"""FLOP model of the SD U-Net, for DeepCache's theoretical speed-up S(N, f) = N / (1 + (N-1) f).

f(d) is the share of one full U-Net evaluation that a shallow evaluation at depth d still runs:
input blocks 0..d, output blocks n-1-d..n-1, the time embedding and the output head. Counted from
the exact tensor layout of sdcpp.testing (conv and linear weights, plus the attention matmuls).
"""
from __future__ import annotations

import re
from typing import Sequence

from sdcpp.testing.synthetic import TensorSpec, sd15_layout, sdxl_layout

PREFIX = "model.diffusion_model."
CONTEXT_TOKENS = 77

# Level (0 = latent resolution, k = /2^k) of each input/output block of the U-Net.
_SD15_INPUT_LEVEL = [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]
_SD15_OUTPUT_LEVEL = [3, 3, 3, 2, 2, 2, 1, 1, 1, 0, 0, 0]
_SDXL_INPUT_LEVEL = [0, 0, 0, 1, 1, 1, 2, 2, 2]
_SDXL_OUTPUT_LEVEL = [2, 2, 2, 1, 1, 1, 0, 0, 0]


def _levels(kind: str) -> tuple[list[int], list[int], int]:
    if kind == "sd15":
        return _SD15_INPUT_LEVEL, _SD15_OUTPUT_LEVEL, 3
    return _SDXL_INPUT_LEVEL, _SDXL_OUTPUT_LEVEL, 2


def _block_of(name: str) -> tuple[str, int]:
    match = re.match(r"(input_blocks|output_blocks)\.(\d+)\.", name)
    if match:
        return match.group(1), int(match.group(2))
    if name.startswith("middle_block."):
        return "middle_block", 0
    return "stem", 0  # time_embed, label_emb, out


def _tensor_flops(spec: TensorSpec, tokens: int) -> tuple[float, float]:
    """(conv/linear FLOPs, attention-matmul FLOPs) of one weight at `tokens` spatial positions."""
    name, shape = spec.name, spec.shape
    if not name.endswith(".weight") or len(shape) < 2:
        return 0.0, 0.0
    if re.search(r"\.(time_embed|label_emb)\.", "." + name):
        return 2.0 * shape[0] * shape[1], 0.0
    if len(shape) == 4:
        out_ch, in_ch, kh, kw = shape
        return 2.0 * out_ch * in_ch * kh * kw * tokens, 0.0
    out_features, in_features = shape
    is_cross_kv = ".attn2.to_k." in name or ".attn2.to_v." in name
    rows = CONTEXT_TOKENS if is_cross_kv else tokens
    flops = 2.0 * out_features * in_features * rows
    attention = 0.0
    if name.endswith(".attn1.to_q.weight"):
        attention = 2.0 * 2.0 * tokens * tokens * out_features  # QK^T and AV
    elif name.endswith(".attn2.to_q.weight"):
        attention = 2.0 * 2.0 * tokens * CONTEXT_TOKENS * out_features
    elif ".emb_layers." in name:
        flops = 2.0 * out_features * in_features  # one vector per image
    return flops, attention


def unet_flops(kind: str, latent_height: int, latent_width: int) -> dict[tuple[str, int], tuple[float, float]]:
    """{(block kind, index): (conv/linear FLOPs, attention FLOPs)} of one U-Net evaluation."""
    layout: Sequence[TensorSpec] = sd15_layout() if kind == "sd15" else sdxl_layout()
    input_level, output_level, middle_level = _levels(kind)
    totals: dict[tuple[str, int], tuple[float, float]] = {}
    for spec in layout:
        if not spec.name.startswith(PREFIX):
            continue
        name = spec.name[len(PREFIX):]
        block, index = _block_of(name)
        if block == "input_blocks":
            level = input_level[index]
        elif block == "output_blocks":
            level = output_level[index]
            if name.endswith(".conv.weight") and re.match(r"output_blocks\.\d+\.\d+\.conv\.weight", name):
                level -= 1  # the upsampler's conv runs at the next, larger resolution
        elif block == "middle_block":
            level = middle_level
        else:
            level = 0
        tokens = (latent_height >> level) * (latent_width >> level)
        flops, attention = _tensor_flops(spec, tokens)
        old = totals.get((block, index), (0.0, 0.0))
        totals[(block, index)] = (old[0] + flops, old[1] + attention)
    return totals


def shallow_fraction(kind: str, depth: int, latent_height: int, latent_width: int,
                     with_attention: bool = True) -> float:
    """f(d): the FLOP share of a shallow (reuse) evaluation at `depth`."""
    totals = unet_flops(kind, latent_height, latent_width)
    n_out = len(_levels(kind)[1])

    def cost(key: tuple[str, int]) -> float:
        flops, attention = totals.get(key, (0.0, 0.0))
        return flops + (attention if with_attention else 0.0)

    full = sum(cost(key) for key in totals)
    shallow = cost(("stem", 0))
    shallow += sum(cost(("input_blocks", i)) for i in range(depth + 1))
    shallow += sum(cost(("output_blocks", i)) for i in range(n_out - 1 - depth, n_out))
    return shallow / full


def theoretical_speedup(interval: int, fraction: float) -> float:
    """S(N, f) = N / (1 + (N - 1) f): one full evaluation plus N-1 shallow ones."""
    return interval / (1.0 + (interval - 1) * fraction)


if __name__ == "__main__":
    for kind, size in (("sd15", 64), ("sdxl", 128)):
        for depth in range(4):
            print(kind, f"{size * 8}px d={depth}:",
                  f"{shallow_fraction(kind, depth, size, size, False):.3f} (conv+linear)",
                  f"{shallow_fraction(kind, depth, size, size, True):.3f} (with attention)")
