"""The synthetic test models have the exact layout of the real checkpoints (fast: no big files)."""
from __future__ import annotations

import importlib.util
import json
import os
import struct
import sys
import types
from pathlib import Path
from typing import Any, Dict, List, Tuple

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent

try:
    from sdcpp.testing import synthetic as S
except ImportError:  # engine not built: the generator itself is pure Python + numpy
    _spec = importlib.util.spec_from_file_location(
        "_sdcpp_synthetic", REPO / "python" / "sdcpp" / "testing" / "synthetic.py"
    )
    assert _spec is not None and _spec.loader is not None
    S = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(S)

UNET = "model.diffusion_model."
VAE = "first_stage_model."


@pytest.fixture(scope="module")
def sd15() -> Dict[str, Tuple[int, ...]]:
    return {s.name: s.shape for s in S.sd15_layout()}


@pytest.fixture(scope="module")
def sdxl() -> Dict[str, Tuple[int, ...]]:
    return {s.name: s.shape for s in S.sdxl_layout()}


def _count(layout: Dict[str, Tuple[int, ...]], prefix: str) -> int:
    return sum(int(np.prod(shape)) for name, shape in layout.items() if name.startswith(prefix))


def test_sd15_parameter_counts(sd15: Dict[str, Tuple[int, ...]]) -> None:
    assert len(sd15) == len(S.sd15_layout()) == 1130  # no duplicate names
    assert _count(sd15, UNET) == 859_520_964
    assert _count(sd15, VAE) == 83_653_863
    assert _count(sd15, "cond_stage_model.transformer.text_model.") == 123_060_480
    assert _count(sd15, "") == 859_520_964 + 83_653_863 + 123_060_480


def test_sdxl_parameter_counts(sdxl: Dict[str, Tuple[int, ...]]) -> None:
    assert len(sdxl) == len(S.sdxl_layout()) == 2514
    assert _count(sdxl, UNET) == 2_567_463_684
    assert _count(sdxl, VAE) == 83_653_863
    assert _count(sdxl, "conditioner.embedders.0.transformer.text_model.") == 123_060_480
    # OpenCLIP bigG text tower incl. text_projection (1280x1280) and the scalar logit_scale
    assert _count(sdxl, "conditioner.embedders.1.model.") == 694_659_841
    assert S.count_params(S.sdxl_layout()) == _count(sdxl, "")


@pytest.mark.parametrize(
    "name, shape",
    [
        (UNET + "time_embed.0.weight", (1280, 320)),
        (UNET + "time_embed.2.weight", (1280, 1280)),
        (UNET + "input_blocks.0.0.weight", (320, 4, 3, 3)),
        (UNET + "input_blocks.1.1.transformer_blocks.0.attn1.to_q.weight", (320, 320)),
        (UNET + "input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight", (320, 768)),
        (UNET + "input_blocks.1.1.transformer_blocks.0.ff.net.0.proj.weight", (2560, 320)),
        (UNET + "input_blocks.1.1.transformer_blocks.0.ff.net.2.weight", (320, 1280)),
        (UNET + "input_blocks.1.1.proj_in.weight", (320, 320, 1, 1)),
        (UNET + "input_blocks.3.0.op.weight", (320, 320, 3, 3)),
        (UNET + "input_blocks.4.0.skip_connection.weight", (640, 320, 1, 1)),
        (UNET + "input_blocks.11.0.out_layers.3.weight", (1280, 1280, 3, 3)),
        (UNET + "middle_block.1.transformer_blocks.0.attn2.to_v.weight", (1280, 768)),
        (UNET + "output_blocks.0.0.skip_connection.weight", (1280, 2560, 1, 1)),
        (UNET + "output_blocks.2.1.conv.weight", (1280, 1280, 3, 3)),
        (UNET + "output_blocks.5.2.conv.weight", (1280, 1280, 3, 3)),
        (UNET + "output_blocks.8.2.conv.weight", (640, 640, 3, 3)),
        (UNET + "output_blocks.11.1.proj_out.weight", (320, 320, 1, 1)),
        (UNET + "out.0.weight", (320,)),
        (UNET + "out.2.weight", (4, 320, 3, 3)),
        (VAE + "encoder.conv_in.weight", (128, 3, 3, 3)),
        (VAE + "encoder.down.1.block.0.nin_shortcut.weight", (256, 128, 1, 1)),
        (VAE + "encoder.down.2.downsample.conv.weight", (512, 512, 3, 3)),
        (VAE + "encoder.mid.attn_1.q.weight", (512, 512, 1, 1)),
        (VAE + "encoder.conv_out.weight", (8, 512, 3, 3)),
        (VAE + "decoder.conv_in.weight", (512, 4, 3, 3)),
        (VAE + "decoder.mid.attn_1.proj_out.weight", (512, 512, 1, 1)),
        (VAE + "decoder.up.1.block.0.nin_shortcut.weight", (256, 512, 1, 1)),
        (VAE + "decoder.up.3.upsample.conv.weight", (512, 512, 3, 3)),
        (VAE + "decoder.conv_out.weight", (3, 128, 3, 3)),
        (VAE + "quant_conv.weight", (8, 8, 1, 1)),
        (VAE + "post_quant_conv.weight", (4, 4, 1, 1)),
        ("cond_stage_model.transformer.text_model.embeddings.token_embedding.weight", (49408, 768)),
        ("cond_stage_model.transformer.text_model.embeddings.position_embedding.weight", (77, 768)),
        ("cond_stage_model.transformer.text_model.encoder.layers.11.mlp.fc1.weight", (3072, 768)),
        ("cond_stage_model.transformer.text_model.encoder.layers.0.self_attn.out_proj.bias", (768,)),
        ("cond_stage_model.transformer.text_model.final_layer_norm.weight", (768,)),
    ],
)
def test_sd15_names_and_shapes(sd15: Dict[str, Tuple[int, ...]], name: str, shape: Tuple[int, ...]) -> None:
    assert sd15[name] == shape


def test_sd15_has_no_extras(sd15: Dict[str, Tuple[int, ...]]) -> None:
    assert not any(n.startswith("model_ema.") or "position_ids" in n for n in sd15)
    assert UNET + "input_blocks.10.1.norm.weight" not in sd15  # no attention at the 4th level
    assert UNET + "output_blocks.2.2.conv.weight" not in sd15
    assert UNET + "output_blocks.11.2.conv.weight" not in sd15
    blocks = {int(n.split(".")[3]) for n in sd15 if n.startswith(UNET + "output_blocks.")}
    assert blocks == set(range(S.SD15_UNET_OUTPUT_BLOCKS))


@pytest.mark.parametrize(
    "name, shape",
    [
        (UNET + "label_emb.0.0.weight", (1280, 2816)),
        (UNET + "label_emb.0.2.weight", (1280, 1280)),
        (UNET + "input_blocks.4.1.proj_in.weight", (640, 640)),
        (UNET + "input_blocks.4.1.transformer_blocks.1.attn2.to_k.weight", (640, 2048)),
        (UNET + "input_blocks.7.1.transformer_blocks.9.ff.net.0.proj.weight", (10240, 1280)),
        (UNET + "input_blocks.8.1.proj_out.weight", (1280, 1280)),
        (UNET + "middle_block.1.transformer_blocks.9.attn1.to_out.0.weight", (1280, 1280)),
        (UNET + "output_blocks.0.0.skip_connection.weight", (1280, 2560, 1, 1)),
        (UNET + "output_blocks.2.2.conv.weight", (1280, 1280, 3, 3)),
        (UNET + "output_blocks.3.1.transformer_blocks.1.norm3.weight", (640,)),
        (UNET + "output_blocks.5.2.conv.weight", (640, 640, 3, 3)),
        (UNET + "output_blocks.8.0.skip_connection.weight", (320, 640, 1, 1)),
        (UNET + "out.2.weight", (4, 320, 3, 3)),
        (VAE + "decoder.mid.attn_1.k.weight", (512, 512, 1, 1)),
        ("conditioner.embedders.0.transformer.text_model.embeddings.token_embedding.weight", (49408, 768)),
        ("conditioner.embedders.0.transformer.text_model.final_layer_norm.bias", (768,)),
        ("conditioner.embedders.1.model.token_embedding.weight", (49408, 1280)),
        ("conditioner.embedders.1.model.positional_embedding", (77, 1280)),
        ("conditioner.embedders.1.model.text_projection", (1280, 1280)),
        ("conditioner.embedders.1.model.logit_scale", ()),
        ("conditioner.embedders.1.model.ln_final.weight", (1280,)),
        ("conditioner.embedders.1.model.transformer.resblocks.0.attn.in_proj_weight", (3840, 1280)),
        ("conditioner.embedders.1.model.transformer.resblocks.31.attn.in_proj_bias", (3840,)),
        ("conditioner.embedders.1.model.transformer.resblocks.31.attn.out_proj.weight", (1280, 1280)),
        ("conditioner.embedders.1.model.transformer.resblocks.5.mlp.c_fc.weight", (5120, 1280)),
        ("conditioner.embedders.1.model.transformer.resblocks.5.mlp.c_proj.weight", (1280, 5120)),
        ("conditioner.embedders.1.model.transformer.resblocks.5.ln_2.bias", (1280,)),
    ],
)
def test_sdxl_names_and_shapes(sdxl: Dict[str, Tuple[int, ...]], name: str, shape: Tuple[int, ...]) -> None:
    assert sdxl[name] == shape


def test_sdxl_structure(sdxl: Dict[str, Tuple[int, ...]]) -> None:
    assert UNET + "input_blocks.1.1.norm.weight" not in sdxl  # no attention at the first level
    assert UNET + "input_blocks.9.0.op.weight" not in sdxl  # three levels only
    assert UNET + "input_blocks.7.1.transformer_blocks.10.norm1.weight" not in sdxl
    assert UNET + "output_blocks.8.2.conv.weight" not in sdxl
    blocks = {int(n.split(".")[3]) for n in sdxl if n.startswith(UNET + "output_blocks.")}
    assert blocks == set(range(S.SDXL_UNET_OUTPUT_BLOCKS))
    assert not any("position_ids" in n for n in sdxl)


def _engine_version(names: Dict[str, Tuple[int, ...]]) -> str:
    """The part of sd.cpp's ModelLoader::get_sd_version() that tells SD1 / SDXL apart."""
    is_unet = any(UNET + "input_blocks." in n for n in names)
    multi = any("conditioner.embedders.1" in n or "cond_stage_model.1" in n for n in names)
    mid1 = any(UNET + "middle_block.1." in n for n in names)
    ob311 = any(UNET + "output_blocks.3.1.transformer_blocks.1" in n for n in names)
    ob71 = any(UNET + "output_blocks.7.1" in n for n in names)
    in_ch = names[UNET + "input_blocks.0.0.weight"][1]
    if is_unet and multi:
        return "SDXL" if in_ch == 4 and mid1 and ob311 else "SDXL-variant"
    tok = names.get("cond_stage_model.transformer.text_model.embeddings.token_embedding.weight")
    if tok is not None and tok[1] == 768:
        return "SD1" if in_ch == 4 and mid1 and ob71 else "SD1-variant"
    return "other"


def test_engine_detects_the_versions(sd15: Dict[str, Tuple[int, ...]], sdxl: Dict[str, Tuple[int, ...]]) -> None:
    assert _engine_version(sd15) == "SD1"
    assert _engine_version(sdxl) == "SDXL"


def _small_layout() -> List[Any]:
    pick = {
        UNET + "time_embed.0.weight",
        UNET + "time_embed.0.bias",
        UNET + "out.0.weight",
        UNET + "out.0.bias",
        UNET + "out.2.weight",
        VAE + "quant_conv.weight",
        "conditioner.embedders.1.model.logit_scale",
        "conditioner.embedders.1.model.positional_embedding",
    }
    return [s for s in S.sdxl_layout() if s.name in pick]


def _read_safetensors(path: Path) -> Tuple[Dict[str, Any], bytes]:
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    assert (8 + n) % 8 == 0
    return header, raw[8 + n :]


@pytest.mark.parametrize("dtype, np_dtype, itemsize", [("f16", "<f2", 2), ("f32", "<f4", 4), ("bf16", "<u2", 2)])
def test_safetensors_writer(tmp_path: Path, dtype: str, np_dtype: str, itemsize: int) -> None:
    layout = _small_layout()
    path = S.write_safetensors(tmp_path / "a.safetensors", layout, seed=3, dtype=dtype)
    header, data = _read_safetensors(path)
    assert header.pop("__metadata__") == {"format": "pt"}
    assert list(header) == [s.name for s in layout]
    offset = 0
    for spec in layout:
        info = header[spec.name]
        assert info["dtype"] == dtype.upper()
        assert tuple(info["shape"]) == spec.shape
        begin, end = info["data_offsets"]
        assert begin == offset and end - begin == spec.numel * itemsize
        offset = end
    assert offset == len(data)

    def tensor(name: str) -> "np.ndarray[Any, Any]":
        begin, end = header[name]["data_offsets"]
        x = np.frombuffer(data[begin:end], dtype=np_dtype)
        if dtype == "bf16":
            x = (x.astype(np.uint32) << 16).view(np.float32)
        return x.astype(np.float64)

    assert np.all(tensor(UNET + "out.0.weight") == 1.0)
    assert np.all(tensor(UNET + "out.0.bias") == 0.0)
    assert tensor("conditioner.embedders.1.model.logit_scale") == pytest.approx(np.log(100.0), rel=1e-2)
    w = tensor(UNET + "time_embed.0.weight")  # [1280, 320]: std 1/sqrt(320)
    assert abs(w.mean()) < 2e-3
    assert w.std() == pytest.approx(1 / np.sqrt(320), rel=0.02)
    assert np.unique(w).size > 1000
    assert np.all(np.isfinite(w))
    b = tensor(UNET + "time_embed.0.bias")
    assert 0 < b.std() < 0.05

    # deterministic: same seed -> same bytes, other seed -> other bytes
    again = S.write_safetensors(tmp_path / "b.safetensors", layout, seed=3, dtype=dtype)
    assert again.read_bytes() == path.read_bytes()
    other = S.write_safetensors(tmp_path / "c.safetensors", layout, seed=4, dtype=dtype)
    assert other.read_bytes() != path.read_bytes()


def test_tensor_data_independent_of_layout_order(tmp_path: Path) -> None:
    layout = _small_layout()
    a, _ = _read_safetensors(S.write_safetensors(tmp_path / "a.safetensors", layout))
    rev = list(reversed(layout))
    b_header, b_data = _read_safetensors(S.write_safetensors(tmp_path / "b.safetensors", rev))
    _, a_data = _read_safetensors(tmp_path / "a.safetensors")
    for spec in layout:
        (a0, a1), (b0, b1) = a[spec.name]["data_offsets"], b_header[spec.name]["data_offsets"]
        assert a_data[a0:a1] == b_data[b0:b1]


def test_ensure_synthetic_model_caches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: List[Dict[str, Any]] = []

    def fake_convert(*, input_path: str, output_path: str, type: str) -> Path:
        calls.append(dict(input_path=input_path, output_path=output_path, type=type))
        assert input_path.endswith(".safetensors") and Path(input_path).exists()
        assert output_path.endswith(".gguf") and not os.path.exists(output_path)
        Path(output_path).write_bytes(b"GGUF" + Path(input_path).read_bytes()[:64])
        return Path(output_path)

    fake = types.ModuleType("sdcpp.convert")
    fake.convert = fake_convert  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "sdcpp.convert", fake)
    monkeypatch.setitem(
        S._WRITERS, "sd15", lambda path, seed=0, dtype="f16": S.write_safetensors(path, _small_layout(), seed, dtype)
    )
    monkeypatch.setenv("SDCPP_CACHE_DIR", str(tmp_path / "env-cache"))

    path = S.ensure_synthetic_model("sd15", "q4_0")
    assert path.parent == tmp_path / "env-cache" / "synthetic"
    assert path.name == f"sd15-synthetic-v{S.GENERATOR_VERSION}-seed0-q4_0.gguf"
    assert path.read_bytes().startswith(b"GGUF")
    assert len(calls) == 1 and calls[0]["type"] == "q4_0"
    assert not list(path.parent.glob("*.safetensors"))  # source deleted
    assert not list(path.parent.glob(".*tmp*"))

    assert S.ensure_synthetic_model("sd15", "q4_0") == path  # cached
    assert len(calls) == 1

    kept = S.ensure_synthetic_model("sd15", "f16", cache_dir=tmp_path / "arg", seed=7, keep_source=True)
    assert kept.name == f"sd15-synthetic-v{S.GENERATOR_VERSION}-seed7-f16.gguf"
    assert kept.parent == tmp_path / "arg" / "synthetic"
    assert len(calls) == 2
    assert (kept.parent / f"sd15-synthetic-v{S.GENERATOR_VERSION}-seed7-f16.safetensors").exists()

    with pytest.raises(ValueError):
        S.ensure_synthetic_model("sd3", "q8_0", cache_dir=tmp_path)


def test_failed_conversion_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def failing_convert(*, input_path: str, output_path: str, type: str) -> Path:
        Path(output_path).write_bytes(b"partial")
        raise RuntimeError("boom")

    fake = types.ModuleType("sdcpp.convert")
    fake.convert = failing_convert  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "sdcpp.convert", fake)
    monkeypatch.setitem(
        S._WRITERS, "sdxl", lambda path, seed=0, dtype="f16": S.write_safetensors(path, _small_layout(), seed, dtype)
    )
    with pytest.raises(RuntimeError, match="boom"):
        S.ensure_synthetic_model("sdxl", "q8_0", cache_dir=tmp_path)
    leftovers = [p.name for p in (tmp_path / "synthetic").iterdir() if not p.name.endswith(".lock")]
    assert leftovers == []
