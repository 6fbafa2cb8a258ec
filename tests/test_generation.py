"""txt2img on the synthetic SD1.x model: shape, determinism, seeds, reuse of one Context."""
from __future__ import annotations

from pathlib import Path

import numpy as np

import sdcpp
from conftest import FAST


def test_txt2img_returns_an_rgb_uint8_image(context: sdcpp.Context) -> None:
    image = context.txt2img("a cat", seed=1, **FAST)
    assert isinstance(image, np.ndarray)
    assert image.shape == (64, 64, 3)
    assert image.dtype == np.uint8
    assert image.std() > 1.0, "the image is constant"


def test_same_seed_same_image_other_seed_other_image(context: sdcpp.Context) -> None:
    first = context.txt2img("a cat", seed=7, **FAST)
    again = context.txt2img("a cat", seed=7, **FAST)
    other = context.txt2img("a cat", seed=8, **FAST)
    np.testing.assert_array_equal(first, again)
    assert np.abs(first.astype(int) - other.astype(int)).mean() > 1.0


def test_non_square_size_and_result_parameters(context: sdcpp.Context) -> None:
    result = context.generate("a dog", width=96, height=64, steps=2, seed=3, sampling_method="euler")
    assert result.images[0].shape == (64, 96, 3)
    assert result.seeds == [3]
    assert result.params["sampling_method"] == "euler"
    assert result.params["scheduler"] in sdcpp.schedulers()


def test_random_seed_is_reported_and_reproducible(context: sdcpp.Context) -> None:
    result = context.generate("a cat", seed=-1, **FAST)
    seed = result.seeds[0]
    assert 0 <= seed < 2**63
    again = context.txt2img("a cat", seed=seed, **FAST)
    np.testing.assert_array_equal(result.images[0], again)


def test_module_level_txt2img_loads_generates_and_closes(sd15_model: Path, context: sdcpp.Context) -> None:
    image = sdcpp.txt2img(model=sd15_model, prompt="a cat", seed=11, threads=2, **FAST)
    np.testing.assert_array_equal(image, context.txt2img("a cat", seed=11, **FAST))


def test_progress_callback_sees_every_step(context: sdcpp.Context) -> None:
    seen: list[tuple[int, int]] = []
    context.generate("a cat", seed=1, progress=lambda step, steps, seconds: seen.append((step, steps)), **FAST)
    assert [step for step, _ in seen] == [1, 2, 3]
    assert all(steps == 3 for _, steps in seen)


def test_engine_logs_reach_python_logging(context: sdcpp.Context, caplog: "object") -> None:
    import logging

    with caplog.at_level(logging.INFO, logger="sdcpp"):  # type: ignore[attr-defined]
        context.txt2img("a cat", seed=1, **FAST)
    records = caplog.records  # type: ignore[attr-defined]
    assert any(r.name == "sdcpp" and "generate_image" in r.getMessage() for r in records)
    assert all(r.levelno in (logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR) for r in records)
