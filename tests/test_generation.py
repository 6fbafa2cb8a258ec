"""txt2img on the synthetic SD1.x model: shape, determinism, seeds, reuse of one Context."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

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


def test_gil_is_released_during_generation(context: sdcpp.Context) -> None:
    import threading

    ticks = 0
    done = threading.Event()

    def count() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1

    counter = threading.Thread(target=count)
    counter.start()
    try:
        context.txt2img("a cat", seed=1, **FAST)
    finally:
        done.set()
        counter.join()
    # With the GIL held by the C call the counter would barely run.
    assert ticks > 100_000


def test_synthetic_model_loads_without_tensor_warnings(sd15_model: Path, caplog: "object") -> None:
    import logging

    with caplog.at_level(logging.WARNING, logger="sdcpp"):  # type: ignore[attr-defined]
        sdcpp.Context(sd15_model, threads=2).close()
    assert [r.getMessage() for r in caplog.records] == []  # type: ignore[attr-defined]


@pytest.mark.slow
def test_q4_0_synthetic_model_generates() -> None:
    from conftest import CACHE_DIR
    from sdcpp.testing import ensure_synthetic_model

    model = ensure_synthetic_model("sd15", "q4_0", cache_dir=CACHE_DIR)
    with sdcpp.Context(model, threads=2) as ctx:
        image = ctx.txt2img("a cat", width=64, height=64, steps=2, seed=1)
    assert image.shape == (64, 64, 3) and image.std() > 1.0
