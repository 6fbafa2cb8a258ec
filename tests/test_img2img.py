"""img2img: an init image (numpy or PIL) and a strength."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import sdcpp


def test_img2img_keeps_the_size_and_depends_on_the_init_image(context: sdcpp.Context) -> None:
    rng = np.random.default_rng(0)
    first = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    second = np.full((64, 64, 3), 200, dtype=np.uint8)
    a = context.txt2img("a cat", init_image=first, strength=0.5, steps=4, seed=1)
    b = context.txt2img("a cat", init_image=second, strength=0.5, steps=4, seed=1)
    assert a.shape == (64, 64, 3)
    assert np.abs(a.astype(int) - b.astype(int)).mean() > 1.0


def test_pil_and_numpy_init_images_are_equivalent(context: sdcpp.Context) -> None:
    pixels = np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    from_numpy = context.txt2img("a cat", init_image=pixels, strength=0.4, steps=3, seed=2)
    from_pil = context.txt2img("a cat", init_image=Image.fromarray(pixels), strength=0.4, steps=3, seed=2)
    np.testing.assert_array_equal(from_numpy, from_pil)


@pytest.mark.parametrize(
    "init_image, options, message",
    [
        (np.zeros((64, 64, 3), dtype=np.float32), {}, "dtype uint8"),
        (np.zeros((64, 64, 3), dtype=np.uint8), {"width": 128}, "init_image is 64x64, not 128x64"),
        (np.zeros((64, 64, 3), dtype=np.uint8), {"strength": 1.5}, "strength must be"),
        ("picture.png", {}, "numpy array or a PIL image"),
    ],
)
def test_bad_init_images(context: sdcpp.Context, init_image: object, options: dict, message: str) -> None:
    with pytest.raises(sdcpp.InvalidArgument, match=message):
        context.txt2img("a cat", init_image=init_image, steps=2, **options)  # type: ignore[arg-type]


def test_strength_zero_returns_the_init_image(context: sdcpp.Context) -> None:
    init = np.random.default_rng(5).integers(0, 256, (72, 80, 3), dtype=np.uint8)
    result = context.generate("a cat", init_image=init, strength=0.0, steps=4, seed=1, batch_count=2)
    for image in result.images:
        np.testing.assert_array_equal(image, init)
    assert result.cache_stats == sdcpp.CacheStats(0, 0)
