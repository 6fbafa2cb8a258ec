"""Upscaler: ESRGAN models (a tiny synthetic RRDBNet here) applied to numpy and PIL images."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pytest
from PIL import Image

from sdcpp.errors import ContextClosedError, GenerationError, InvalidArgument, ModelLoadError, SdcppError
from sdcpp.testing.assets import ensure_esrgan, write_sd15_lora
from sdcpp.upscale import Upscaler, upscale

from conftest import CACHE_DIR


def _pixels(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A smooth test picture (gradients and a square), so that resampling keeps it recognisable."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    image = np.stack([x * 255 // max(width - 1, 1), y * 255 // max(height - 1, 1),
                      np.full_like(x, int(rng.integers(0, 256)))], axis=2)
    image[height // 4: height // 2, width // 4: width // 2] = rng.integers(0, 256, 3)
    return image.astype(np.uint8)


def _shrink(image: np.ndarray, factor: int) -> np.ndarray:
    """Average factor x factor blocks: the inverse of a nearest-neighbour upscale."""
    h, w = image.shape[0] // factor, image.shape[1] // factor
    return image.reshape(h, factor, w, factor, 3).mean(axis=(1, 3))


@pytest.fixture(scope="module")
def esrgan_x4() -> Path:
    return ensure_esrgan(CACHE_DIR, scale=4, num_blocks=1)


@pytest.fixture(scope="module")
def esrgan_x2() -> Path:
    return ensure_esrgan(CACHE_DIR, scale=2, num_blocks=1)


@pytest.fixture(scope="module")
def upscaler(esrgan_x4: Path) -> Iterator[Upscaler]:
    with Upscaler(esrgan_x4, threads=2) as loaded:
        yield loaded


def test_upscale_multiplies_the_size_and_keeps_the_picture(upscaler: Upscaler) -> None:
    image = _pixels(16, 24)
    result = upscaler.upscale(image)
    assert upscaler.scale == 4
    assert result.shape == (64, 96, 3) and result.dtype == np.uint8
    # The synthetic ESRGAN is close to a nearest-neighbour upscaler: shrunk back, it is the input.
    assert np.abs(_shrink(result, 4) - image).mean() < 12
    assert np.abs(_shrink(result, 4) - image[::-1, ::-1]).mean() > 40  # not just any picture


def test_pil_images_numpy_arrays_and_rgba_give_the_same_result(upscaler: Upscaler) -> None:
    image = _pixels(16, 16)
    from_numpy = upscaler.upscale(image)
    np.testing.assert_array_equal(upscaler.upscale(Image.fromarray(image)), from_numpy)
    rgba = np.concatenate([image, np.full((16, 16, 1), 7, np.uint8)], axis=2)
    np.testing.assert_array_equal(upscaler.upscale(rgba), from_numpy)
    gray = upscaler.upscale(Image.fromarray(image[:, :, 0], mode="L"))
    assert gray.shape == (64, 64, 3)


def test_repeats_apply_the_model_again(esrgan_x2: Path) -> None:
    with Upscaler(esrgan_x2, threads=2) as x2:
        assert x2.scale == 2
        image = _pixels(16, 16)
        twice = x2.upscale(image, repeats=2)
        assert twice.shape == (64, 64, 3)
        np.testing.assert_array_equal(twice, x2.upscale(x2.upscale(image)))


def test_a_factor_below_the_model_scale_resizes_its_output(upscaler: Upscaler) -> None:
    image = _pixels(16, 16)
    result = upscaler.upscale(image, factor=2)
    assert result.shape == (32, 32, 3)
    assert np.abs(_shrink(result, 2) - image).mean() < 12


def test_tiling_gives_the_same_picture(esrgan_x4: Path, upscaler: Upscaler) -> None:
    image = _pixels(32, 32)
    with Upscaler(esrgan_x4, threads=2, tile_size=16) as tiled:
        result = tiled.upscale(image)
    assert result.shape == (128, 128, 3)
    assert np.abs(result.astype(int) - upscaler.upscale(image)).mean() < 4


def test_one_off_upscale_function(esrgan_x4: Path) -> None:
    result = upscale(esrgan_x4, _pixels(8, 8), threads=2)
    assert result.shape == (32, 32, 3) and result.dtype == np.uint8


def test_engine_logs_go_to_logging(esrgan_x4: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="sdcpp"):
        with Upscaler(esrgan_x4, threads=2) as loaded:
            loaded.upscale(_pixels(8, 8))
    messages = [record.getMessage() for record in caplog.records if record.name == "sdcpp"]
    assert any("esrgan model loaded with scale=4" in message for message in messages)
    assert any("upscaling from (8 x 8) to (32 x 32)" in message for message in messages)


@pytest.mark.parametrize(
    "image, options, message",
    [
        (np.zeros((16, 16, 3), np.float32), {}, "dtype uint8"),
        (np.zeros((16, 16, 5), np.uint8), {}, r"shape \(H, W, 3\)"),
        (np.zeros((0, 16, 3), np.uint8), {}, "empty"),
        ("picture.png", {}, "numpy array or a PIL image"),
        (np.zeros((16, 16, 3), np.uint8), {"factor": 0}, "factor must be between 1"),
        (np.zeros((16, 16, 3), np.uint8), {"factor": 2.5}, "factor must be an integer"),
        (np.zeros((16, 16, 3), np.uint8), {"repeats": 0}, "repeats must be between 1"),
        (np.zeros((16, 16, 3), np.uint8), {"repeats": True}, "repeats must be an integer"),
        (np.zeros((4100, 8, 3), np.uint8), {}, "the result would be 32x16400 pixels"),
        (np.zeros((16, 16, 3), np.uint8), {"repeats": 8}, "the limit is 16384 per side"),
    ],
)
def test_bad_upscale_arguments(upscaler: Upscaler, image: Any, options: dict, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        upscaler.upscale(image, **options)


@pytest.mark.parametrize(
    "options, message",
    [
        ({"threads": 0}, "threads must be positive"),
        ({"threads": "2"}, "threads must be an integer"),
        ({"tile_size": 8}, "tile_size must be 0"),
        ({"tile_size": -1}, "tile_size must be between 0"),
        ({"conv_direct": 1}, "conv_direct must be True or False"),
    ],
)
def test_bad_upscaler_arguments(esrgan_x4: Path, options: dict, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        Upscaler(esrgan_x4, **options)


def test_missing_files_and_non_model_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="no such file"):
        Upscaler(tmp_path / "missing.safetensors")
    with pytest.raises(InvalidArgument, match="not a regular file"):
        Upscaler(tmp_path)
    text = tmp_path / "notes.txt"
    text.write_text("not a model")
    with pytest.raises(ModelLoadError, match="not a model file"):
        Upscaler(text)


def test_a_model_that_is_not_an_esrgan_raises_with_the_engine_log(tmp_path: Path) -> None:
    lora = write_sd15_lora(tmp_path / "lora.safetensors", rank=1, text_encoder=False)
    with pytest.raises(ModelLoadError, match="could not load .* as an ESRGAN upscaler") as raised:
        Upscaler(lora, threads=1)
    assert any("conv_first.weight" in line for line in raised.value.engine_log)


def test_a_closed_upscaler_raises(esrgan_x4: Path) -> None:
    loaded = Upscaler(esrgan_x4, threads=1)
    loaded.close()
    assert loaded.closed
    loaded.close()  # closing twice is harmless
    with pytest.raises(ContextClosedError):
        loaded.upscale(_pixels(8, 8))
    with pytest.raises(ContextClosedError):
        loaded.scale
    with Upscaler(esrgan_x4, threads=1) as managed:
        pass
    assert managed.closed


def test_errors_belong_to_the_package_hierarchy() -> None:
    for error in (InvalidArgument, ModelLoadError, GenerationError, ContextClosedError):
        assert issubclass(error, SdcppError)
