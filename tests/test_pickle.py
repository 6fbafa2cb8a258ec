"""What crosses a process boundary (multiprocessing, Ray) survives it: errors and results pickle
intact; a Context or Upscaler refuses to be pickled or copied, saying where to create it."""
from __future__ import annotations

import copy
import pickle
import sys

import numpy as np
import pytest
from PIL import Image

import sdcpp
from conftest import FAST

ERROR_TYPES = [sdcpp.SdcppError, sdcpp.InvalidArgument, sdcpp.ModelLoadError, sdcpp.GenerationError,
               sdcpp.GenerationCancelled, sdcpp.ContextClosedError, sdcpp.BuildMismatchError,
               sdcpp.ConversionError]


@pytest.mark.parametrize("error_type", ERROR_TYPES, ids=lambda t: t.__name__)
def test_error_pickles_with_message_and_engine_log(error_type: type[sdcpp.SdcppError]) -> None:
    error = error_type("the engine could not load the model", ["missing tensor model.diffusion", "bad header"])
    copy_ = pickle.loads(pickle.dumps(error))
    assert type(copy_) is error_type
    assert str(copy_) == str(error)
    assert "missing tensor model.diffusion" in str(copy_)
    assert copy_.engine_log == ["missing tensor model.diffusion", "bad header"]


def test_error_without_engine_log_pickles_unchanged() -> None:
    copy_ = pickle.loads(pickle.dumps(sdcpp.InvalidArgument("steps must be between 1 and 10000")))
    assert str(copy_) == "steps must be between 1 and 10000"
    assert copy_.engine_log == []
    assert isinstance(copy_, ValueError)


@pytest.mark.skipif(sys.version_info < (3, 11), reason="add_note is Python 3.11+")
def test_error_keeps_its_notes_across_pickle() -> None:
    error = sdcpp.GenerationError("the engine failed", ["out of memory"])
    error.add_note("prompt line 17")
    assert pickle.loads(pickle.dumps(error)).__notes__ == ["prompt line 17"]


def test_real_error_from_a_bad_argument_pickles(context: sdcpp.Context) -> None:
    with pytest.raises(sdcpp.InvalidArgument) as caught:
        context.generate("a cat", **{**FAST, "steps": 0})
    copy_ = pickle.loads(pickle.dumps(caught.value))
    assert str(copy_) == str(caught.value)


def test_context_refuses_pickle_and_copy_clearly(context: sdcpp.Context) -> None:
    for operation in (pickle.dumps, copy.copy, copy.deepcopy):
        with pytest.raises(TypeError, match=r"sdcpp\.Context cannot be pickled.*in its __init__"):
            operation(context)
    assert not context.closed  # the refusals leave the Context usable
    assert context.generate("a cat", **FAST, seed=1).images[0].shape == (64, 64, 3)


def test_upscaler_refuses_pickle() -> None:
    upscaler = sdcpp.Upscaler.__new__(sdcpp.Upscaler)  # no model needed to reach the refusal
    with pytest.raises(TypeError, match=r"sdcpp\.Upscaler cannot be pickled"):
        pickle.dumps(upscaler)


def test_generation_result_pickles(context: sdcpp.Context) -> None:
    result = context.generate("a lighthouse", **FAST, seed=5, deepcache="2,0")
    copy_ = pickle.loads(pickle.dumps(result))
    assert copy_.seeds == result.seeds
    assert copy_.params == result.params
    assert copy_.cache_stats == result.cache_stats
    assert copy_.cache_stats.reused_evaluations > 0
    assert np.array_equal(copy_.images[0], result.images[0])
    assert copy_.parameters_text() == result.parameters_text()
    as_pil = sdcpp.GenerationResult(images=[Image.fromarray(result.images[0])], seeds=result.seeds,
                                    params=result.params, cache_stats=result.cache_stats)
    assert np.array_equal(np.asarray(pickle.loads(pickle.dumps(as_pil)).images[0]), result.images[0])
