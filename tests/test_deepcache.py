"""DeepCache end to end on the synthetic SD1.x model (DESIGN.md section 3, behaviours 1-4).

The engine-level proofs (bit-exact reuse right after store for every depth on SD1.x and SDXL
layouts, slots never mixing) are in tests/cpp/test_deepcache.cpp, run by test_engine_cpp.py.
"""
from __future__ import annotations

import numpy as np
import pytest

import sdcpp
from sdcpp.cache import model_evaluations

SMALL = dict(width=64, height=64, seed=4)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def expected_counts(evaluations: int, interval: int, start: int = 0, end: int | None = None) -> tuple[int, int]:
    end = evaluations if end is None else end
    reused = sum(1 for e in range(evaluations) if start <= e < end and (e - start) % interval != 0)
    return evaluations - reused, reused


# -- 1. off is off -----------------------------------------------------------------------------

@pytest.mark.parametrize("settings", [sdcpp.DeepCache(interval=1), sdcpp.DeepCache(interval=3, start=2, end=2)])
def test_settings_that_reuse_nothing_are_bit_identical_to_no_cache(context: sdcpp.Context, settings: sdcpp.DeepCache) -> None:
    plain = context.generate("a cat", steps=4, sampling_method="euler", **SMALL)
    cached = context.generate("a cat", steps=4, sampling_method="euler", deepcache=settings, **SMALL)
    np.testing.assert_array_equal(cached.images[0], plain.images[0])
    assert cached.cache_stats.reused_evaluations == 0


# -- 2/3. one counter step per model evaluation, exact schedule ---------------------------------

@pytest.mark.parametrize("cfg_scale", [1.0, 7.0])
@pytest.mark.parametrize("method, steps", [("euler", 6), ("heun", 4)])
def test_schedule_counts_are_exact(context: sdcpp.Context, method: str, steps: int, cfg_scale: float) -> None:
    result = context.generate("a cat", steps=steps, sampling_method=method, cfg_scale=cfg_scale,
                              deepcache=sdcpp.DeepCache(interval=3, depth=0), **SMALL)
    evaluations = model_evaluations(method, steps)
    assert evaluations == (steps if method == "euler" else 2 * steps - 1)
    full, reused = expected_counts(evaluations, 3)
    assert (result.cache_stats.full_evaluations, result.cache_stats.reused_evaluations) == (full, reused)


def test_window_schedule(context: sdcpp.Context) -> None:
    result = context.generate("a cat", steps=8, sampling_method="euler",
                              deepcache=sdcpp.DeepCache(interval=2, depth=1, start=1, end=6), **SMALL)
    # evaluations 0..7: full outside [1, 6); inside, 1, 3, 5 full and 2, 4 reused
    assert (result.cache_stats.full_evaluations, result.cache_stats.reused_evaluations) == (6, 2)


def test_schedule_resets_for_every_image_of_a_batch(context: sdcpp.Context) -> None:
    result = context.generate("a cat", steps=5, sampling_method="euler", batch_count=2,
                              deepcache=3, **SMALL)
    full, reused = expected_counts(5, 3)
    assert (result.cache_stats.full_evaluations, result.cache_stats.reused_evaluations) == (2 * full, 2 * reused)
    single = context.generate("a cat", steps=5, sampling_method="euler", deepcache=3, **SMALL)
    np.testing.assert_array_equal(result.images[0], single.images[0])


# -- quality and the public forms ---------------------------------------------------------------

def test_deepcache_output_is_finite_and_close_to_no_cache_with_and_without_cfg(context: sdcpp.Context) -> None:
    scores = {}
    for cfg_scale in (1.0, 7.0):
        plain = context.txt2img("a cat", steps=8, sampling_method="euler", cfg_scale=cfg_scale, **SMALL)
        cached = context.generate("a cat", steps=8, sampling_method="euler", cfg_scale=cfg_scale,
                                  deepcache=sdcpp.DeepCache(interval=2, depth=1), **SMALL)
        assert cached.cache_stats.reused_evaluations == 4
        assert cached.images[0].std() > 1.0
        scores[cfg_scale] = psnr(plain, cached.images[0])
    print(f"PSNR DeepCache(2, 1) vs no cache: cfg 1: {scores[1.0]:.1f} dB, cfg 7: {scores[7.0]:.1f} dB")
    assert scores[7.0] > 15.0
    # The failed public attempt produced garbage at cfg_scale=1: ours is as close there as with CFG.
    assert scores[1.0] > scores[7.0] - 3.0


def test_int_and_string_forms_match_the_dataclass(context: sdcpp.Context) -> None:
    reference = context.generate("a cat", steps=4, sampling_method="euler",
                                 deepcache=sdcpp.DeepCache(interval=2, depth=0), **SMALL)
    as_int = context.generate("a cat", steps=4, sampling_method="euler", deepcache=2, **SMALL)
    as_text = context.generate("a cat", steps=4, sampling_method="euler", deepcache="2,0,0,-1", **SMALL)
    upstream_style = context.generate("a cat", steps=4, sampling_method="euler", cache_mode="deepcache",
                                      cache_options="interval=2,depth=0", **SMALL)
    for other in (as_int, as_text, upstream_style):
        np.testing.assert_array_equal(other.images[0], reference.images[0])
        assert other.cache_stats == reference.cache_stats


@pytest.mark.parametrize(
    "deepcache, message",
    [
        (sdcpp.DeepCache(interval=3, depth=12), "depth 12 is out of range for this model"),
        (sdcpp.DeepCache(interval=3, end=99), "end 99 is past the number of model evaluations"),
        (sdcpp.DeepCache(interval=3, start=4, end=None), "start 4 is past the last model evaluation"),
        ("3,x", "every part must be an integer"),
        (True, "deepcache must be"),
    ],
)
def test_bad_deepcache_settings_raise_before_the_engine(context: sdcpp.Context, deepcache: object, message: str) -> None:
    with pytest.raises(sdcpp.InvalidArgument, match=message):
        context.generate("a cat", steps=4, deepcache=deepcache, **SMALL)  # type: ignore[arg-type]


def test_dataclass_validates_itself() -> None:
    with pytest.raises(sdcpp.InvalidArgument):
        sdcpp.DeepCache(interval=0)
    with pytest.raises(sdcpp.InvalidArgument):
        sdcpp.DeepCache(start=5, end=2)
    assert sdcpp.DeepCache.parse("3,1") == sdcpp.DeepCache(interval=3, depth=1)
    assert str(sdcpp.DeepCache(3, 0, 0, 20)) == "3,0,0,20"


def test_upstream_cache_modes_are_reachable(context: sdcpp.Context) -> None:
    plain = context.txt2img("a cat", steps=8, sampling_method="euler", **SMALL)
    for mode in ("ucache", "spectrum"):
        image = context.txt2img("a cat", steps=8, sampling_method="euler", cache_mode=mode, **SMALL)
        assert image.shape == plain.shape and image.std() > 1.0
    with pytest.raises(sdcpp.InvalidArgument, match="unknown cache mode"):
        context.txt2img("a cat", cache_mode="fastcache", **SMALL)
    with pytest.raises(sdcpp.InvalidArgument, match="exclude each other"):
        context.txt2img("a cat", cache_mode="spectrum", deepcache=3, **SMALL)
    with pytest.raises(sdcpp.InvalidArgument, match="unknown cache option"):
        context.txt2img("a cat", cache_mode="ucache", cache_options="bogus=1", **SMALL)


# -- SDXL layout end to end ---------------------------------------------------------------------

@pytest.mark.slow
def test_sdxl_deepcache_is_close_to_no_cache_with_and_without_cfg(sdxl_model: "object") -> None:
    with sdcpp.Context(sdxl_model, threads=2) as ctx:  # type: ignore[arg-type]
        assert ctx.deepcache_max_depth == 8  # 9 output blocks
        scores = {}
        for cfg_scale in (1.0, 7.0):
            options = dict(width=64, height=64, steps=6, seed=3, cfg_scale=cfg_scale, sampling_method="euler")
            plain = ctx.txt2img("a cat", **options)
            cached = ctx.generate("a cat", deepcache=sdcpp.DeepCache(interval=2, depth=1), **options)
            assert (cached.cache_stats.full_evaluations, cached.cache_stats.reused_evaluations) == (3, 3)
            assert cached.images[0].std() > 1.0
            scores[cfg_scale] = psnr(plain, cached.images[0])
        print(f"SDXL PSNR DeepCache(2, 1) vs no cache: cfg 1: {scores[1.0]:.1f} dB, cfg 7: {scores[7.0]:.1f} dB")
        assert scores[7.0] > 20.0
        assert scores[1.0] > scores[7.0] - 3.0
        with pytest.raises(sdcpp.InvalidArgument, match=r"depth 9 is out of range for this model \(0..8\)"):
            ctx.txt2img("a cat", width=64, height=64, steps=2, deepcache=sdcpp.DeepCache(interval=2, depth=9))


# -- memory: the slots and nothing else ---------------------------------------------------------

# Channels of the h entering each SD1.x output block, and its resolution level (latent / 2^level).
_SD1_OUTPUT_INPUT = [(1280, 3), (1280, 3), (1280, 3), (1280, 2), (1280, 2), (1280, 2),
                     (1280, 1), (640, 1), (640, 1), (640, 0), (320, 0), (320, 0)]

_PEAK_SCRIPT = """
import resource, sys, sdcpp
ctx = sdcpp.Context(sys.argv[1], threads=2)
depth = int(sys.argv[2])
settings = None if depth < 0 else sdcpp.DeepCache(interval=3, depth=depth)
ctx.generate("a cat", width=128, height=128, steps=4, seed=1, sampling_method="euler", deepcache=settings)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
"""


def _peak_rss(model: "object", depth: int) -> int:
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-c", _PEAK_SCRIPT, str(model), str(depth)],
                            capture_output=True, text=True, timeout=900, check=True)
    return int(result.stdout.split()[-1])


@pytest.mark.slow
def test_peak_memory_grows_by_no_more_than_the_slots(sd15_model: "object") -> None:
    baseline = _peak_rss(sd15_model, -1)
    latent = 128 // 8
    for depth in (0, 3):
        channels, level = _SD1_OUTPUT_INPUT[11 - depth]
        slot_bytes = 2 * channels * (latent >> level) ** 2 * 4  # cond + uncond slots, f32
        growth = _peak_rss(sd15_model, depth) - baseline
        print(f"depth {depth}: peak RSS {growth / 2**20:+.1f} MiB vs baseline (slots {slot_bytes / 2**10:.0f} KiB)")
        assert growth <= slot_bytes + 16 * 2**20


def test_max_depth_of_sd1_layout(context: sdcpp.Context) -> None:
    assert context.deepcache_max_depth == 11  # 12 output blocks


def test_img2img_schedule_counts_follow_the_shortened_run(context: sdcpp.Context) -> None:
    from sdcpp.context import img2img_steps

    init = context.txt2img("a house", steps=2, **SMALL)
    steps, strength = 10, 0.5
    sampled = img2img_steps(steps, strength)
    assert sampled == 6  # the engine keeps int(10 * 0.5) + 1 sigma intervals
    result = context.generate("a cat", steps=steps, strength=strength, init_image=init, sampling_method="euler",
                              deepcache=sdcpp.DeepCache(interval=3), seed=4)
    assert (result.cache_stats.full_evaluations, result.cache_stats.reused_evaluations) == expected_counts(sampled, 3)
    with pytest.raises(sdcpp.InvalidArgument, match="end 8 is past"):
        context.generate("a cat", steps=steps, strength=strength, init_image=init,
                         deepcache=sdcpp.DeepCache(interval=3, end=8), seed=4)
