"""The generation API beyond plain txt2img: batches, PIL output, inpainting, highres fix, eta,
custom sigmas, metadata, sizes the engine rounds up, embeddings."""
from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import sdcpp
from conftest import FAST


def _differ(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(int) - b.astype(int)).mean())


def test_batch_of_three_gives_three_distinct_images_with_their_seeds(context: sdcpp.Context) -> None:
    result = context.generate("a cat", batch_count=3, seed=100, **FAST)
    assert result.seeds == [100, 101, 102]
    assert len(result.images) == 3
    a, b, c = result.images
    assert min(_differ(a, b), _differ(b, c), _differ(a, c)) > 1.0
    # Image i of a batch is the image a single generation with seed + i gives.
    np.testing.assert_array_equal(b, context.txt2img("a cat", seed=101, **FAST))
    assert isinstance(context.txt2img("a cat", batch_count=2, seed=1, **FAST), list)


def test_pil_output_holds_the_same_pixels(context: sdcpp.Context) -> None:
    image = context.txt2img("a cat", seed=5, output_format="pil", **FAST)
    assert isinstance(image, Image.Image)
    assert image.mode == "RGB" and image.size == (64, 64)
    np.testing.assert_array_equal(np.asarray(image), context.txt2img("a cat", seed=5, **FAST))


def test_inpainting_repaints_white_and_keeps_black(context: sdcpp.Context) -> None:
    init = np.random.default_rng(3).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    mask = np.zeros((64, 64), dtype=np.uint8)
    mask[:, 32:] = 255  # repaint the right half
    options = dict(init_image=init, mask=mask, strength=1.0, steps=3, cfg_scale=7.0)
    first = context.txt2img("a cat", seed=1, **options)
    second = context.txt2img("a cat", seed=2, **options)
    kept = _differ(first[:, :24], second[:, :24])
    repainted = _differ(first[:, 40:], second[:, 40:])
    assert repainted > 4 * max(kept, 0.25), (kept, repainted)
    result = context.generate("a cat", seed=1, **options)
    assert result.params["mask"] is True


def test_mask_needs_an_init_image_of_the_same_size(context: sdcpp.Context) -> None:
    mask = np.zeros((64, 64), dtype=np.uint8)
    with pytest.raises(sdcpp.InvalidArgument, match="mask needs an init_image"):
        context.txt2img("a cat", mask=mask, **FAST)
    with pytest.raises(sdcpp.InvalidArgument, match="mask is 32x32, not 64x64"):
        context.txt2img("a cat", init_image=np.zeros((64, 64, 3), np.uint8), mask=np.zeros((32, 32), np.uint8),
                        **FAST)


def test_highres_fix_renders_the_target_size(context: sdcpp.Context) -> None:
    result = context.generate("a cat", seed=1, hires=True, hires_steps=2, width=64, height=64, steps=2)
    assert result.images[0].shape == (128, 128, 3)
    assert result.params["hires"]["width"] == 128
    wide = context.txt2img("a cat", seed=1, hires=True, hires_width=96, hires_steps=1, width=64, height=64,
                           steps=1, hires_upscaler="Lanczos")
    assert wide.shape == (96, 96, 3)
    with pytest.raises(sdcpp.InvalidArgument, match="unknown hires upscaler"):
        context.txt2img("a cat", hires=True, hires_upscaler="Bicubic9000", **FAST)


def test_eta_changes_an_ancestral_sampler_and_is_reported(context: sdcpp.Context) -> None:
    options = dict(sampling_method="euler_a", seed=4, **FAST)
    default = context.generate("a cat", **options)
    assert default.params["eta"] == 1.0
    no_noise = context.generate("a cat", eta=0.0, **options)
    assert no_noise.params["eta"] == 0.0
    assert _differ(default.images[0], no_noise.images[0]) > 0.5


def test_custom_sigmas_replace_steps_and_scheduler(context: sdcpp.Context) -> None:
    seen: list[int] = []
    result = context.generate("a cat", sigmas="14.6,6.0,2.0,0.0", seed=2, width=64, height=64,
                              sampling_method="euler", progress=lambda step, steps, t: seen.append(steps))
    assert result.params["steps"] == 3
    assert result.params["sigmas"] == [14.6, 6.0, 2.0, 0.0]
    assert seen and set(seen) == {3}
    with pytest.raises(sdcpp.InvalidArgument, match="must not increase"):
        context.txt2img("a cat", sigmas=[1.0, 2.0, 0.0], **FAST)


def test_sizes_the_engine_rounds_up_come_back_as_asked(context: sdcpp.Context) -> None:
    init = np.random.default_rng(9).integers(0, 256, (72, 80, 3), dtype=np.uint8)
    image = context.txt2img("a cat", init_image=init, strength=0.3, steps=2, seed=1)
    assert image.shape == (72, 80, 3)


def test_metadata_round_trips_through_the_png(context: sdcpp.Context, tmp_path: Path) -> None:
    result = context.generate("a cat, high detail", "blurry", seed=77, sampling_method="euler",
                              deepcache="2,0", **FAST)
    path = result.save(tmp_path / "cat.png")
    read = sdcpp.read_parameters(path)
    assert read["prompt"] == "a cat, high detail"
    assert read["negative_prompt"] == "blurry"
    assert (read["steps"], read["cfg_scale"], read["seed"]) == (3, 7.0, 77)
    assert (read["width"], read["height"]) == (64, 64)
    assert read["sampling_method"] == "euler"
    assert read["scheduler"] == result.params["scheduler"]
    assert read["deepcache"] == "2,0,0,-1"
    assert read["model"] == Path(context.model_paths["model"]).name
    assert read["sdcpp"]["schema"] == "sdcpp.image.params/v1"
    assert read["sdcpp"]["seed"] == 77
    assert read["sdcpp"]["generator"]["name"] == "sdcpp"
    assert result.params["engine_commit"]
    unsaved = result.save(tmp_path / "bare.png", metadata=False)
    with pytest.raises(sdcpp.InvalidArgument, match="no generation parameters"):
        sdcpp.read_parameters(unsaved)


def test_parameters_written_by_sd_cli_are_read() -> None:
    # The layout of examples/common/common.cpp get_image_params(), as sd-cli writes it.
    text = ('a lovely cat <lora:style:0.8>\nNegative prompt: ugly, blurry\n'
            'Steps: 20, CFG scale: 7.000000, Guidance: 3.500000, Eta: 1.000000, Seed: 42, Size: 512x768, '
            'Model: sd15.gguf, RNG: cuda, Sampler: euler_a discrete, Clip skip: 2, '
            'Version: stable-diffusion.cpp, SDCPP: {"schema":"sdcpp.image.params/v1","seed":42,'
            '"loras":[{"name":"style.safetensors","multiplier":0.8}]}')
    read = sdcpp.parse_parameters(text)
    assert read["prompt"] == "a lovely cat <lora:style:0.8>"
    assert read["negative_prompt"] == "ugly, blurry"
    assert (read["steps"], read["cfg_scale"], read["eta"], read["seed"], read["clip_skip"]) == (20, 7.0, 1.0, 42, 2)
    assert (read["width"], read["height"]) == (512, 768)
    assert (read["sampling_method"], read["scheduler"]) == ("euler_a", "discrete")
    assert read["sdcpp"]["loras"][0]["multiplier"] == 0.8
    a1111 = sdcpp.parse_parameters("a dog\nSteps: 30, Sampler: DPM++ 2M, CFG scale: 5, Seed: 1, Size: 64x64")
    assert (a1111["prompt"], a1111["steps"], a1111["seed"]) == ("a dog", 30, 1)


def test_our_text_has_sd_cli_layout(context: sdcpp.Context) -> None:
    text = context.generate("a cat", seed=3, clip_skip=2, **FAST).parameters_text()
    prompt, fields = text.split("\n")
    assert prompt == "a cat"
    keys = [part.split(":")[0] for part in fields.split(", SDCPP: ")[0].split(", ")]
    assert keys[:7] == ["Steps", "CFG scale", "Guidance", "Eta", "Seed", "Size", "Model"]
    assert "Clip skip" in keys and keys[-1] == "Version"
    assert "CFG scale: 7.000000" in fields


def _write_embedding(path: Path, rows: int, width: int) -> None:
    values = np.random.default_rng(0).normal(0, 1, (rows, width)).astype(np.float32)
    header = json.dumps({"emb_params": {"dtype": "F32", "shape": [rows, width],
                                        "data_offsets": [0, values.nbytes]}}).encode()
    path.write_bytes(struct.pack("<Q", len(header)) + header + values.tobytes())


def test_embeddings_from_embd_dir_change_the_prompt(sd15_model: Path, context: sdcpp.Context, tmp_path: Path) -> None:
    _write_embedding(tmp_path / "sdcpptoken.safetensors", rows=2, width=768)
    with sdcpp.Context(sd15_model, threads=2, embd_dir=tmp_path) as with_embedding:
        changed = with_embedding.txt2img("a sdcpptoken cat", seed=1, **FAST)
        plain = with_embedding.txt2img("a cat", seed=1, **FAST)
    np.testing.assert_array_equal(plain, context.txt2img("a cat", seed=1, **FAST))
    assert _differ(changed, context.txt2img("a sdcpptoken cat", seed=1, **FAST)) > 0.5


def test_lora_prompt_tags_equal_the_explicit_list(context: sdcpp.Context) -> None:
    from sdcpp.testing import ensure_sd15_lora

    from conftest import CACHE_DIR

    lora = ensure_sd15_lora(CACHE_DIR)
    quick = dict(FAST, steps=2, cfg_scale=1.0, seed=7)
    stem = lora.with_suffix("")  # the tag may leave out the extension, as in sd-cli
    tagged = context.generate(f"a cat<lora:{stem}:0.9>", **quick)
    listed = context.txt2img("a cat", loras=[sdcpp.Lora(str(lora), 0.9)], **quick)
    np.testing.assert_array_equal(tagged.images[0], listed)
    assert tagged.params["prompt"] == "a cat"
    assert tagged.params["loras"] == [{"path": str(lora), "multiplier": 0.9, "high_noise": False}]
    assert "<lora:" in tagged.parameters_text().split("\n")[0]  # sd-cli keeps the tags in the text
    with pytest.raises(sdcpp.InvalidArgument, match="pass lora_model_dir"):
        context.txt2img("a cat <lora:style:1>", **quick)
    with pytest.raises(sdcpp.InvalidArgument, match="not found"):
        context.txt2img(f"a cat <lora:{stem}-missing:1>", **quick)


def test_preview_callback_gets_intermediate_images(context: sdcpp.Context) -> None:
    every: list[tuple[int, tuple[int, ...], bool]] = []
    context.generate("a cat", seed=1, width=64, height=64, steps=4,
                     preview=lambda step, images, noisy: every.append((step, images[0].shape, noisy)))
    assert [step for step, _, _ in every] == [1, 2, 3, 4]
    assert all(shape[2] == 3 and shape[0] > 0 for _, shape, _ in every)
    assert not any(noisy for _, _, noisy in every)
    sparse: list[int] = []
    context.generate("a cat", seed=1, width=64, height=64, steps=4, preview_interval=2,
                     preview=lambda step, images, noisy: sparse.append(step))
    assert len(sparse) == 2
    # The preview hook is removed afterwards: a later generation without preview calls nothing.
    context.txt2img("a cat", seed=1, **FAST)
    assert len(sparse) == 2
