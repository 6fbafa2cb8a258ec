"""The synthetic add-on models (LoRA, ControlNet, ESRGAN) and what the engine does with them."""
from __future__ import annotations

import logging
from pathlib import Path
import numpy as np
import pytest

import sdcpp
from sdcpp.testing import assets

from conftest import CACHE_DIR, FAST

# The cheapest generation that still shows a difference: 64x64, 2 steps, no CFG (one U-Net pass a step).
QUICK = dict(FAST, steps=2, cfg_scale=1.0, seed=7)


def _mean_difference(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


@pytest.fixture(scope="module")
def lora() -> Path:
    return assets.ensure_sd15_lora(CACHE_DIR)


@pytest.fixture(scope="module")
def controlnet() -> Path:
    return assets.ensure_sd15_controlnet(CACHE_DIR)


# -- files ------------------------------------------------------------------------------------


def test_writers_are_deterministic_and_cached(tmp_path: Path) -> None:
    first = assets.write_sd15_lora(tmp_path / "a.safetensors", rank=2, text_encoder=False)
    second = assets.write_sd15_lora(tmp_path / "b.safetensors", rank=2, text_encoder=False)
    other = assets.write_sd15_lora(tmp_path / "c.safetensors", rank=2, seed=1, text_encoder=False)
    assert first.read_bytes() == second.read_bytes() != other.read_bytes()
    cached = assets.ensure_esrgan(tmp_path, scale=2, num_blocks=1)
    assert cached == assets.ensure_esrgan(tmp_path, scale=2, num_blocks=1)
    assert cached.parent == tmp_path / "synthetic" and "x2-b1" in cached.name
    assert not list(cached.parent.glob(".*tmp*"))  # no temporary file left behind


def test_lora_covers_the_unet_transformers_and_the_text_encoder() -> None:
    targets = dict(assets.sd15_lora_targets())
    assert len(targets) == 16 * 12 + 12 * 6
    assert targets["lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q"] == \
        "model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn1.to_q.weight"
    assert targets["lora_te_text_model_encoder_layers_11_mlp_fc2"] == \
        "cond_stage_model.transformer.text_model.encoder.layers.11.mlp.fc2.weight"


def test_controlnet_has_the_sd15_controlnet_layout() -> None:
    layout = assets.controlnet_sd15_layout()
    names = {spec.name for spec in layout}
    assert sum(spec.numel for spec in layout) == 361_279_120
    assert all(name.startswith("control_model.") for name in names)
    assert {f"control_model.zero_convs.{i}.0.weight" for i in range(12)} <= names
    assert "control_model.middle_block_out.0.weight" in names
    assert "control_model.input_hint_block.14.weight" in names
    assert not any(".output_blocks." in name or name.startswith("control_model.out.") for name in names)


# -- engine -----------------------------------------------------------------------------------


def test_lora_changes_the_image_at_multiplier_1_and_not_at_0(
    context: sdcpp.Context, lora: Path, caplog: pytest.LogCaptureFixture
) -> None:
    base = context.txt2img("a cat", **QUICK)
    with caplog.at_level(logging.INFO, logger="sdcpp"):
        full = context.txt2img("a cat", loras=[(lora, 1.0)], **QUICK)
    messages = [record.getMessage() for record in caplog.records if record.name == "sdcpp"]
    # Every tensor of the file found its weight: 12 CLIP layers x 6, 16 transformers x 12 (x3 tensors).
    assert any("(216 / 216) LoRA tensors have been applied" in message for message in messages)
    assert any("(576 / 576) LoRA tensors have been applied" in message for message in messages)
    assert not any("unused lora tensor" in message or "Only (" in message for message in messages)
    assert _mean_difference(full, base) > 10

    off = context.txt2img("a cat", loras=[(lora, 0.0)], **QUICK)
    np.testing.assert_array_equal(off, base)
    # A LoRA applies to the generation that names it only.
    np.testing.assert_array_equal(context.txt2img("a cat", **QUICK), base)


def test_controlnet_loads_and_the_control_image_steers_the_generation(
    sd15_model: Path, controlnet: Path, caplog: pytest.LogCaptureFixture
) -> None:
    square = np.zeros((64, 64, 3), np.uint8)
    square[16:48, 16:48] = 255
    half = np.zeros((64, 64, 3), np.uint8)
    half[:, :32] = 255
    with caplog.at_level(logging.INFO, logger="sdcpp"):
        loaded = sdcpp.Context(sd15_model, control_net=controlnet, threads=2)
    with loaded:
        messages = [record.getMessage() for record in caplog.records if record.name == "sdcpp"]
        assert any("control net model loaded" in message for message in messages)
        assert not any("unknown tensor" in message for message in messages)  # every tensor has a place

        base = loaded.txt2img("a cat", **QUICK)
        with_square = loaded.txt2img("a cat", control_image=square, **QUICK)
        with_half = loaded.txt2img("a cat", control_image=half, **QUICK)
        unused = loaded.txt2img("a cat", control_image=square, control_strength=0.0, **QUICK)
    assert _mean_difference(with_square, base) > 5
    assert _mean_difference(with_square, with_half) > 5  # the hint itself matters, not just the ControlNet
    np.testing.assert_array_equal(unused, base)
