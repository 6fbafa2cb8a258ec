"""sdcpp-cli beyond one image: batches and %d outputs, img2img + mask, the metadata and convert
modes, output safety, and Ctrl-C in the middle of sampling."""
from __future__ import annotations

import json
import os
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sdcpp.cli import output_paths


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sdcpp.cli", *args], capture_output=True, text=True, timeout=900)


def test_output_names_follow_sd_cli() -> None:
    assert output_paths("out.png", 1) == [Path("out.png")]
    assert output_paths("out.png", 2) == [Path("out_0.png"), Path("out_1.png")]
    assert output_paths("img_%03d.png", 2, 5) == [Path("img_005.png"), Path("img_006.png")]
    assert output_paths("frames/%d", 2) == [Path("frames/0.png"), Path("frames/1.png")]


def test_batch_with_pattern_writes_numbered_pngs_with_metadata(sd15_model: Path, tmp_path: Path) -> None:
    result = run_cli("-m", str(sd15_model), "-p", "a cat", "-W", "64", "-H", "64", "--steps", "2", "-t", "2",
                     "-b", "3", "-s", "10", "-o", str(tmp_path / "cat_%02d.png"))
    assert result.returncode == 0, result.stderr
    files = [tmp_path / f"cat_{i:02d}.png" for i in range(3)]
    seeds = []
    pixels = []
    for path in files:
        with Image.open(path) as image:
            seeds.append(json.loads(image.info["parameters"].split("SDCPP: ", 1)[1])["seed"])
            pixels.append(np.asarray(image).astype(int))
    assert seeds == [10, 11, 12]
    assert np.abs(pixels[0] - pixels[1]).mean() > 1.0
    shown = run_cli("-M", "metadata", "--image", str(files[1]), "--metadata-format", "json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["seed"] == 11


def test_img2img_with_mask_and_no_metadata(sd15_model: Path, tmp_path: Path) -> None:
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(tmp_path / "in.png")
    mask = np.zeros((64, 64), np.uint8)
    mask[16:48, 16:48] = 255
    Image.fromarray(mask).save(tmp_path / "mask.png")
    output = tmp_path / "out.png"
    result = run_cli("-m", str(sd15_model), "-p", "a cat", "-i", str(tmp_path / "in.png"), "--mask",
                     str(tmp_path / "mask.png"), "--strength", "0.8", "--steps", "2", "-t", "2",
                     "--disable-image-metadata", "-o", str(output))
    assert result.returncode == 0, result.stderr
    with Image.open(output) as image:
        assert image.size == (64, 64)
        assert "parameters" not in image.info


def test_output_safety(sd15_model: Path, tmp_path: Path) -> None:
    missing = run_cli("-m", str(sd15_model), "-p", "x", "-o", str(tmp_path / "no" / "such" / "dir.png"))
    assert missing.returncode == 1 and "output directory does not exist" in missing.stderr
    existing = tmp_path / "keep.png"
    existing.write_bytes(b"precious")
    refused = run_cli("-m", str(sd15_model), "-p", "x", "-o", str(existing), "--no-overwrite")
    assert refused.returncode == 1 and "output file exists" in refused.stderr
    assert existing.read_bytes() == b"precious"
    video = run_cli("-M", "vid_gen", "-m", str(sd15_model), "-p", "x")
    assert video.returncode == 1 and "not offered" in video.stderr
    bad_choice = run_cli("-m", str(sd15_model), "--sampling-method", "euler_z")
    assert bad_choice.returncode == 2 and "invalid choice" in bad_choice.stderr


def test_convert_mode_writes_gguf(tmp_path: Path) -> None:
    values = np.ones((4, 8), dtype=np.float32)
    header = json.dumps({"model.diffusion_model.time_embed.0.weight": {"dtype": "F32", "shape": [4, 8], "data_offsets": [0, values.nbytes]}}).encode()
    source = tmp_path / "tiny.safetensors"
    source.write_bytes(struct.pack("<Q", len(header)) + header + values.tobytes())
    result = run_cli("-M", "convert", "-m", str(source), "--type", "f16", "-o", str(tmp_path / "tiny.gguf"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "tiny.gguf").read_bytes()[:4] == b"GGUF"


@pytest.mark.skipif(os.name != "posix", reason="SIGINT delivery")
def test_ctrl_c_mid_sampling_exits_promptly_without_output(sd15_model: Path, tmp_path: Path) -> None:
    output = tmp_path / "never.png"
    with subprocess.Popen(
        [sys.executable, "-m", "sdcpp.cli", "-m", str(sd15_model), "-p", "a cat", "-W", "64", "-H", "64",
         "--steps", "500", "-t", "2", "-v", "-o", str(output)],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
    ) as process:
        assert process.stderr is not None
        deadline = time.monotonic() + 600
        for line in process.stderr:
            if "generating image" in line.lower():
                break
            assert time.monotonic() < deadline, "the CLI never started sampling"
        time.sleep(2.0)  # well inside sampling (500 steps)
        interrupted = time.monotonic()
        process.send_signal(signal.SIGINT)
        rest = process.stderr.read()
        code = process.wait(timeout=120)
        elapsed = time.monotonic() - interrupted
    assert code == 130, rest[-2000:]
    assert "interrupted" in rest
    assert elapsed < 30, f"took {elapsed:.1f}s to stop"
    assert not output.exists()
    assert not list(tmp_path.iterdir()), "a partial file was left behind"


def test_upscale_model_after_generation_and_upscale_mode(sd15_model: Path, tmp_path: Path) -> None:
    from sdcpp.testing import ensure_esrgan

    from conftest import CACHE_DIR

    esrgan = ensure_esrgan(CACHE_DIR, scale=2)
    generated = tmp_path / "gen.png"
    result = run_cli("-m", str(sd15_model), "-p", "a cat", "-W", "64", "-H", "64", "--steps", "1", "-t", "2",
                     "--upscale-model", str(esrgan), "-o", str(generated))
    assert result.returncode == 0, result.stderr
    with Image.open(generated) as image:
        assert image.size == (128, 128)
    upscaled = tmp_path / "up.png"
    result = run_cli("-M", "upscale", "--upscale-model", str(esrgan), "-i", str(generated), "-o", str(upscaled))
    assert result.returncode == 0, result.stderr
    with Image.open(upscaled) as image:
        assert image.size == (256, 256)
