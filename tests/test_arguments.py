"""Every public argument with a bad value raises a clear InvalidArgument before any engine call;
the process and the Context survive (issue #6, part 2)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import sdcpp
from conftest import FAST

IMAGE = np.zeros((64, 64, 3), np.uint8)

GENERATE_CASES: list[tuple[dict[str, Any], str]] = [
    ({"prompt": None}, "prompt must be a string"),
    ({"prompt": "a\0cat"}, "must not contain NUL"),
    ({"prompt": "x" * (1 << 20)}, "the limit is 65536"),
    ({"prompt": "\ud800"}, "surrogates not allowed"),
    ({"negative_prompt": 3}, "negative_prompt must be a string"),
    ({"width": 65}, "multiple of 8"),
    ({"width": 0}, "between 1 and"),
    ({"width": -64}, "between 1 and"),
    ({"width": 64.0}, "must be an integer"),
    ({"width": True}, "must be an integer"),
    ({"height": 10**9}, "between 1 and"),
    ({"width": 16384, "height": 16384}, "pixels; the limit is"),
    ({"steps": 0}, "steps must be between"),
    ({"steps": 10**9}, "steps must be between"),
    ({"steps": "20"}, "steps must be an integer"),
    ({"cfg_scale": float("nan")}, "finite number"),
    ({"cfg_scale": float("inf")}, "finite number"),
    ({"cfg_scale": -1}, "cfg_scale must be"),
    ({"img_cfg_scale": "x"}, "img_cfg_scale must be a number"),
    ({"guidance": -3}, "guidance must be"),
    ({"seed": -2}, "seed must be between"),
    ({"seed": 2**63}, "seed must be between"),
    ({"seed": 2**63 - 1, "batch_count": 2}, "overflows"),
    ({"seed": 1.5}, "seed must be an integer"),
    ({"sampling_method": "euler_z"}, "unknown sampling method"),
    ({"sampling_method": 3}, "must be a string"),
    ({"scheduler": "karas"}, "unknown scheduler"),
    ({"eta": -1.0}, "eta must be"),
    ({"sigmas": "1,x"}, "comma-separated numbers"),
    ({"sigmas": [1.0]}, "between 2 and"),
    ({"sigmas": [1.0, float("nan")]}, "finite number"),
    ({"sigmas": 5}, "sequence of numbers"),
    ({"flow_shift": float("inf")}, "finite number"),
    ({"timestep_shift": -1}, "timestep_shift must be"),
    ({"batch_count": 0}, "batch_count must be between"),
    ({"batch_count": 10**6}, "batch_count must be between"),
    ({"clip_skip": -5}, "clip_skip must be between"),
    ({"init_image": "cat.png"}, "numpy array or a PIL image"),
    ({"init_image": np.zeros((64, 64), np.float64)}, "dtype uint8"),
    ({"init_image": np.zeros((64, 64, 5), np.uint8)}, "shape"),
    ({"init_image": np.zeros((0, 64, 3), np.uint8)}, "empty"),
    ({"init_image": IMAGE, "strength": 2.0}, "strength must be"),
    ({"init_image": IMAGE, "mask": np.zeros((64, 64), np.int32)}, "dtype uint8 or bool"),
    ({"mask": np.zeros((64, 64), np.uint8)}, "mask needs an init_image"),
    ({"control_image": IMAGE}, "needs a ControlNet"),
    ({"control_strength": 11}, "control_strength must be"),
    ({"ref_images": IMAGE}, "must be a list of images"),
    ({"ref_images": [None]}, "numpy array or a PIL image"),
    ({"loras": "style.safetensors"}, "loras must be a list"),
    ({"loras": ["/no/such/lora.safetensors"]}, "no such file"),
    ({"loras": [("/no/such/lora.safetensors", "x")]}, "multiplier must be a number"),
    ({"loras": [42]}, "cannot use 42 as a LoRA"),
    ({"prompt": "a <lora:style:1>"}, "pass lora_model_dir"),
    ({"hires": "yes"}, "hires must be True or False"),
    ({"hires": True, "hires_upscaler": "Model"}, "give the path of the ESRGAN model"),
    ({"hires": True, "hires_scale": -1.0}, "hires_scale must be"),
    ({"hires": True, "hires_width": 10**6}, "hires_width must be between"),
    ({"hires": True, "hires_scale": 0.0}, "hires needs hires_scale"),
    ({"hires": True, "hires_denoising_strength": 1.5}, "hires_denoising_strength must be"),
    ({"skip_layers": "7,8"}, "list of layer indices"),
    ({"slg_scale": -1}, "slg_scale must be"),
    ({"pm_id_images": [IMAGE]}, "needs a PhotoMaker model"),
    ({"vae_tiling": "on"}, "vae_tiling must be True"),
    ({"vae_tile_size": 32}, "vae_tile_size must be a"),
    ({"vae_tile_overlap": 1.0}, "vae_tile_overlap must be"),
    ({"deepcache": "3,x"}, "every part must be an integer"),
    ({"deepcache": 3.5}, "deepcache must be a DeepCache"),
    ({"deepcache": "3,99"}, "depth 99 is out of range"),
    ({"deepcache": 3, "cache_mode": "spectrum"}, "exclude each other"),
    ({"cache_mode": "fastcache"}, "unknown cache mode"),
    ({"cache_mode": "ucache", "cache_options": "threshold"}, "missing '='"),
    ({"cache_options": "threshold=1"}, "needs a cache_mode"),
    ({"output_format": "png"}, "output_format must be one of"),
    ({"progress": "print"}, "progress must be callable"),
    ({"preview": 1}, "preview must be callable"),
    ({"preview_method": "fast"}, "unknown preview method"),
    ({"preview_interval": 0}, "preview_interval must be"),
]


@pytest.mark.parametrize("options, message", GENERATE_CASES,
                         ids=[f"{next(iter(o))}-{i}" for i, (o, _) in enumerate(GENERATE_CASES)])
def test_bad_generate_argument(context: sdcpp.Context, options: dict[str, Any], message: str) -> None:
    arguments = {**FAST, **options}
    prompt = arguments.pop("prompt", "a cat")
    with pytest.raises(sdcpp.InvalidArgument, match=message):
        context.generate(prompt, **arguments)


def test_context_survives_the_matrix(context: sdcpp.Context) -> None:
    assert context.txt2img("a cat", seed=1, **FAST).shape == (64, 64, 3)


CONTEXT_CASES: list[tuple[dict[str, Any], str]] = [
    ({"threads": 0}, "threads must be positive"),
    ({"threads": 10**6}, "threads must be between"),
    ({"weight_type": "q9_9"}, "unknown type"),
    ({"rng": "mersenne"}, "unknown rng"),
    ({"sampler_rng": "x"}, "unknown rng"),
    ({"prediction": "x0"}, "unknown prediction"),
    ({"lora_apply_mode": "later"}, "unknown lora apply mode"),
    ({"vae": "/no/such/vae.safetensors"}, "vae: no such file"),
    ({"vae": 5}, "vae must be a path"),
    ({"taesd": "bad\0path"}, "without NUL"),
    ({"embd_dir": "/no/such/dir"}, "embd_dir: not a directory"),
    ({"lora_model_dir": __file__}, "lora_model_dir: not a directory"),
    ({"flash_attn": 1}, "flash_attn must be True or False"),
    ({"mmap": "yes"}, "mmap must be True or False"),
    ({"tensor_type_rules": "a\0b"}, "must not contain NUL"),
]


@pytest.mark.parametrize("options, message", CONTEXT_CASES,
                         ids=[next(iter(o)) + str(i) for i, (o, _) in enumerate(CONTEXT_CASES)])
def test_bad_context_argument(sd15_model: Path, options: dict[str, Any], message: str) -> None:
    with pytest.raises(sdcpp.InvalidArgument, match=message):
        sdcpp.Context(sd15_model, **options)


def test_context_needs_a_model_and_lora_merging_into_quantized_weights_is_refused(
        sd15_model: Path, tmp_path: Path) -> None:
    with pytest.raises(sdcpp.InvalidArgument, match="give a model file"):
        sdcpp.Context()
    unicode_dir = tmp_path / "моделі ✓"
    unicode_dir.mkdir()
    with pytest.raises(sdcpp.InvalidArgument, match="no such file"):
        sdcpp.Context(unicode_dir / "модель.gguf")
    with sdcpp.Context(sd15_model, threads=1, lora_apply_mode="immediately") as merged:
        (tmp_path / "style.safetensors").write_bytes(b"")  # never reaches the engine
        with pytest.raises(sdcpp.InvalidArgument, match="cannot be merged into quantized weights"):
            from sdcpp.testing import ensure_sd15_lora

            from conftest import CACHE_DIR

            merged.txt2img("a cat", loras=[ensure_sd15_lora(CACHE_DIR)], **FAST)


def test_other_entry_points_refuse_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(sdcpp.InvalidArgument, match="image must be a uint8 array"):
        sdcpp.save_png(np.zeros((4, 4), np.float32), tmp_path / "x.png")
    with pytest.raises(sdcpp.InvalidArgument, match="output directory does not exist"):
        sdcpp.save_png(IMAGE, tmp_path / "missing" / "x.png")
    (tmp_path / "exists.png").write_bytes(b"keep")
    with pytest.raises(sdcpp.InvalidArgument, match="output file exists"):
        sdcpp.save_png(IMAGE, tmp_path / "exists.png", overwrite=False)
    assert (tmp_path / "exists.png").read_bytes() == b"keep"
    with pytest.raises(sdcpp.InvalidArgument, match="no such file"):
        sdcpp.convert(tmp_path / "none.safetensors", tmp_path / "out.gguf")
    with pytest.raises(sdcpp.InvalidArgument, match="parameters must be a string"):
        sdcpp.parse_parameters(b"Steps: 3")  # type: ignore[arg-type]
    with pytest.raises(sdcpp.InvalidArgument, match="cannot read the image"):
        sdcpp.read_parameters(__file__)
    with pytest.raises(sdcpp.InvalidArgument, match="high_threshold must be"):
        sdcpp.canny(IMAGE, high_threshold=2.0)


def test_save_png_without_overwrite_has_one_winner_among_concurrent_writers(tmp_path: Path) -> None:
    """overwrite=False is atomic: of writers racing for one name exactly one succeeds, the file is
    that writer's complete image, and no temporary file is left behind."""
    import threading

    from PIL import Image

    target = tmp_path / "race.png"
    images = [np.full((8, 8, 3), value, np.uint8) for value in range(0, 240, 15)]
    outcomes: list[object] = [None] * len(images)
    start = threading.Barrier(len(images))

    def write(index: int) -> None:
        start.wait()
        try:
            sdcpp.save_png(images[index], target, overwrite=False)
            outcomes[index] = "written"
        except sdcpp.InvalidArgument as error:
            outcomes[index] = error

    threads = [threading.Thread(target=write, args=(index,)) for index in range(len(images))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [index for index, outcome in enumerate(outcomes) if outcome == "written"]
    assert len(winners) == 1, outcomes
    assert all("output file exists" in str(outcome) for outcome in outcomes if outcome != "written")
    with Image.open(target) as written:
        assert np.array_equal(np.asarray(written.convert("RGB")), images[winners[0]])
    assert [path.name for path in tmp_path.iterdir()] == ["race.png"]


CLI_CASES: list[tuple[list[str], int, str]] = [
    (["--steps", "many"], 2, "invalid int value"),
    (["--cfg-scale", "nan"], 1, "finite number"),
    (["-W", "100000"], 1, "width must be between"),
    (["-b", "1000000"], 1, "batch_count must be between"),
    (["--scheduler", "karas"], 2, "invalid choice"),
    (["--rng", "x"], 2, "invalid choice"),
    (["--vae-tile-size", "axb"], 2, "expected [X]x[Y]"),
    (["--deepcache", "3,0,x"], 1, "every part must be an integer"),
    (["--no-such-flag"], 2, "unrecognized arguments"),
    (["-i", "/no/such.png"], 1, "no such file"),
    (["--lora-model-dir", "/no/such/dir"], 1, "not a directory"),
    (["-M", "upscale"], 1, "needs an upscaler model"),
    (["-M", "metadata"], 1, "needs an image path"),
]


def test_bad_cli_flags_exit_with_a_message(sd15_model: Path, tmp_path: Path) -> None:
    for flags, code, message in CLI_CASES:
        result = subprocess.run([sys.executable, "-m", "sdcpp.cli", "-m", str(sd15_model), "-p", "x",
                                 "-o", str(tmp_path / "out.png"), *flags],
                                capture_output=True, text=True, timeout=300)
        assert (result.returncode, message in result.stderr) == (code, True), (flags, result.stderr[-500:])
    assert not (tmp_path / "out.png").exists()
