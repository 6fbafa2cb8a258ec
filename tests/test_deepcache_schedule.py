"""DeepCache's quadratic schedule (issue 14): the engine places full evaluations exactly where the
DeepCache authors' Stable Diffusion pipeline runs full steps, and generations follow that plan.

The authors' function is copied verbatim below; the engine's ``sd_deepcache_full_steps`` (pure C,
no model) is compared with it for every window T in 1..200 and interval N in 2..10.
"""
from __future__ import annotations

import math
import warnings
from typing import Any, Optional

import numpy as np
import pytest

import sdcpp
from sdcpp._ffi import ffi, lib
from sdcpp.cache import DeepCache, deepcache_from_options, model_evaluations, read_cache_stats

SMALL: dict[str, Any] = dict(width=64, height=64, seed=4)


# Verbatim from horseee/DeepCache, DeepCache/sd/pipeline_stable_diffusion.py (commit 1691a3a),
# the Stable Diffusion pipeline's non-uniform schedule. Their pipeline calls it as
# sample_from_quad_center(num_inference_steps, ceil(num_inference_steps / cache_interval),
# center=center, pow=pow) and runs step i in full iff i is in the returned list.
def sample_from_quad_center(total_numbers, n_samples, center, pow=1.2):  # type: ignore[no-untyped-def]
    while pow > 1:
        # Generate linearly spaced values between 0 and a max value
        x_values = np.linspace((-center)**(1/pow), (total_numbers-center)**(1/pow), n_samples+1)
        indices = [0] + [x+center for x in np.unique(np.int32(x_values**pow))[1:-1]]
        if len(indices) == n_samples:
            break
        pow -=0.02
    if pow <= 1:
        raise ValueError("Cannot find suitable pow. Please adjust n_samples or decrease center.")
    return indices, pow


def authors_full_steps(total: int, interval: int, center: int, power: float) -> Optional[list[int]]:
    """The steps their pipeline runs in full (None where their function raises)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numpy's ComplexWarning: np.int32 drops the imaginary part
        try:
            indices, _ = sample_from_quad_center(total, math.ceil(total / interval), center, power)  # type: ignore[no-untyped-call]
        except ValueError:
            return None
    return sorted({int(i) for i in indices if 0 <= int(i) < total})  # their loop is `for i in range(total)`


def engine_full_steps(total: int, interval: int, center: int, power: float) -> Optional[list[int]]:
    count = lib.sd_deepcache_full_steps(total, interval, lib.SD_DEEPCACHE_SCHEDULE_QUADRATIC, center, power,
                                        ffi.NULL, 0)
    if count < 0:
        return None
    out = ffi.new("int[]", max(count, 1))
    assert lib.sd_deepcache_full_steps(total, interval, lib.SD_DEEPCACHE_SCHEDULE_QUADRATIC, center, power,
                                       out, count) == count
    return [int(out[i]) for i in range(count)]


def test_the_issue_example_is_the_papers_set() -> None:
    assert engine_full_steps(50, 5, 15, 1.4) == [0, 5, 9, 13, 17, 21, 26, 31, 37, 43]
    assert DeepCache(5, 1, schedule="quadratic").window_full_evaluations(50) == (0, 5, 9, 13, 17, 21, 26, 31, 37, 43)


@pytest.mark.parametrize("center, power", [(15, 1.4), (0, 1.4), (5, 1.2), (30, 1.4), (15, 2.0), (15, 3.0),
                                           (15, 1.02), (100, 1.5), (250, 1.4), (10, 2.02)])
def test_engine_matches_the_authors_function_for_every_window_and_interval(center: int, power: float) -> None:
    compared = 0
    for total in range(1, 201):
        for interval in range(2, 11):
            theirs = authors_full_steps(total, interval, center, power)
            mine = engine_full_steps(total, interval, center, power)
            assert mine == theirs, (total, interval, center, power)  # None == None: both find no set
            compared += theirs is not None
            if mine is not None:
                assert mine[0] == 0  # the first evaluation of the window is always full
    assert compared >= 1790


def test_where_the_authors_find_no_set_python_refuses_before_the_engine(context: sdcpp.Context) -> None:
    assert authors_full_steps(30, 2, 15, 1.4) is None  # their ValueError
    settings = DeepCache(interval=2, schedule="quadratic")
    with pytest.raises(sdcpp.InvalidArgument, match="finds no 15 full evaluations for a window of 30"):
        settings.validate_for(11, 30)
    with pytest.raises(sdcpp.InvalidArgument, match="quadratic"):
        context.generate("a cat", steps=30, sampling_method="euler", deepcache=settings, **SMALL)


def test_uniform_schedule_is_every_interval_th() -> None:
    assert DeepCache(3).window_full_evaluations(10) == (0, 3, 6, 9)
    assert DeepCache(3, start=2, end=8).planned_full_evaluations(10) == (0, 1, 2, 5, 8, 9)


@pytest.mark.parametrize("sampling_method, cfg_scale", [("euler", 1.0), ("euler", 7.0), ("heun", 1.0)])
def test_generation_runs_the_planned_full_evaluations(context: sdcpp.Context, sampling_method: str,
                                                      cfg_scale: float) -> None:
    steps = 5 if sampling_method == "euler" else 4
    evaluations = model_evaluations(sampling_method, steps)  # heun: 2T-1, counted in evaluations
    settings = DeepCache(interval=2, depth=1, start=1, schedule="quadratic", center=2, power=1.4)
    planned = settings.planned_full_evaluations(evaluations)
    window = evaluations - 1
    expected_offsets = authors_full_steps(window, 2, 2, 1.4)  # euler: [0, 2]; heun: [0, 2, 3]
    assert expected_offsets is not None
    assert planned == (0, *(1 + offset for offset in expected_offsets))
    assert len(planned) < evaluations
    result = context.generate("a cat", steps=steps, sampling_method=sampling_method, cfg_scale=cfg_scale,
                              deepcache=settings, **SMALL)
    stats = read_cache_stats(context._require_open())  # the engine's own report of this run
    assert stats.full_evaluation_indices == planned
    assert result.cache_stats.full_evaluations == len(planned)
    assert result.cache_stats.reused_evaluations == evaluations - len(planned)
    assert np.isfinite(result.images[0].astype(np.float64)).all()


def test_quadratic_differs_from_uniform_where_the_sets_differ(context: sdcpp.Context) -> None:
    uniform = DeepCache(interval=3, depth=0)
    quadratic = DeepCache(interval=3, depth=0, schedule="quadratic", center=2)
    assert uniform.planned_full_evaluations(6) == (0, 3)
    assert quadratic.planned_full_evaluations(6) == (0, 2)
    a = context.generate("a cat", steps=6, sampling_method="euler", cfg_scale=1.0, deepcache=uniform, **SMALL)
    b = context.generate("a cat", steps=6, sampling_method="euler", cfg_scale=1.0, deepcache=quadratic, **SMALL)
    assert not np.array_equal(a.images[0], b.images[0])


def test_text_forms_round_trip_and_reach_the_png_metadata(context: sdcpp.Context, tmp_path: "object") -> None:
    settings = DeepCache(interval=5, depth=1, schedule="quadratic", center=15, power=1.4)
    assert str(settings) == "5,1,0,-1,quadratic,15,1.4"
    assert DeepCache.parse(str(settings)) == settings
    assert DeepCache.parse("5,1") == DeepCache(5, 1)  # the four-number form is unchanged
    assert str(DeepCache(3, 0, 0, 20)) == "3,0,0,20"
    from_options = deepcache_from_options({"interval": "5", "depth": "1", "schedule": "quadratic",
                                           "center": "15", "power": "1.4"})
    assert from_options == settings
    assert deepcache_from_options({"schedule": "quadratic"}, base=DeepCache(5, 1)) == settings
    result = context.generate("a cat", steps=2, sampling_method="euler", cfg_scale=1.0,
                              deepcache=DeepCache(2, 0, schedule="quadratic", center=1), **SMALL)
    assert 'DeepCache: "2,0,0,-1,quadratic,1,1.4"' in result.parameters_text()


@pytest.mark.parametrize("kwargs, message", [
    (dict(schedule="cubic"), "schedule 'cubic' is unknown"),
    (dict(schedule="quadratic", power=1.0), "power must be greater than 1"),
    (dict(schedule="quadratic", power=float("nan")), "power"),
    (dict(schedule="quadratic", center=-1), "center must be between"),
    (dict(center=20), "apply to schedule='quadratic' only"),
])
def test_bad_schedule_settings_name_the_field(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(sdcpp.InvalidArgument, match=message):
        DeepCache(interval=3, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("text, message", [("5,1,0,-1,quadratic,x", "center must be an integer"),
                                           ("5,1,0,-1,quadratic,15,1.4,9", "expected interval")])
def test_bad_text_forms_name_the_problem(text: str, message: str) -> None:
    with pytest.raises(sdcpp.InvalidArgument, match=message):
        DeepCache.parse(text)


def test_deepcache_stacks_on_ucache_through_a_request(context: sdcpp.Context) -> None:
    settings = DeepCache(interval=3, depth=0)
    request = sdcpp.GenerationRequest(prompt="a cat", steps=6, sampling_method="euler", cfg_scale=1.0,
                                      cache_mode="ucache", cache_options="threshold=1.0", deepcache=settings,
                                      **SMALL)
    alone = context.generate(request.replace(cache_mode=None, cache_options=None))
    stacked = context.generate(request)
    # ucache answers some evaluations from its cache: they run no U-Net and count as neither.
    assert alone.cache_stats.full_evaluations + alone.cache_stats.reused_evaluations == 6
    computed = stacked.cache_stats.full_evaluations + stacked.cache_stats.reused_evaluations
    assert computed < 6
    assert stacked.cache_stats.reused_evaluations > 0
    assert stacked.params["cache_mode"] == "ucache" and stacked.params["deepcache"] == str(settings)
    assert np.isfinite(stacked.images[0].astype(np.float64)).all()


def test_deepcache_options_refine_deepcache_and_other_step_caches_are_refused(context: sdcpp.Context) -> None:
    result = context.generate("a cat", steps=6, sampling_method="euler", cfg_scale=1.0, deepcache="3,0",
                              cache_options="schedule=quadratic,center=2", **SMALL)
    assert result.params["deepcache"] == "3,0,0,-1,quadratic,2,1.4"
    assert result.cache_stats.full_evaluation_indices == (0, 2)
    with pytest.raises(sdcpp.InvalidArgument, match="stacks only with ucache"):
        sdcpp.GenerationRequest(prompt="a cat", cache_mode="spectrum", deepcache=3)
