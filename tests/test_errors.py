"""Bad input raises a clear Python exception before any C call, never a crash."""
from __future__ import annotations

from pathlib import Path

import pytest

import sdcpp
from conftest import FAST


def test_missing_model_file(tmp_path: Path) -> None:
    with pytest.raises(sdcpp.InvalidArgument, match="no such file"):
        sdcpp.Context(tmp_path / "nope.gguf")


def test_file_that_is_not_a_model(tmp_path: Path) -> None:
    bogus = tmp_path / "model.gguf"
    bogus.write_text("this is not a model\n" * 10)
    with pytest.raises(sdcpp.ModelLoadError, match="not a (model|GGUF) file"):
        sdcpp.Context(bogus)


def test_directory_is_not_a_model(tmp_path: Path) -> None:
    with pytest.raises(sdcpp.InvalidArgument, match="not a regular file"):
        sdcpp.Context(tmp_path)


def test_no_model_at_all() -> None:
    with pytest.raises(sdcpp.InvalidArgument):
        sdcpp.Context()


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"width": 60}, "width must be a multiple of 8"),
        ({"height": 0}, "height must be between"),
        ({"width": -64}, "width must be between"),
        ({"steps": 0}, "steps must be between"),
        ({"steps": -5}, "steps must be between"),
        ({"sampling_method": "eulr"}, "unknown sampling method 'eulr'"),
        ({"scheduler": "karas"}, "unknown scheduler 'karas'"),
        ({"cfg_scale": float("nan")}, "cfg_scale must be a finite number"),
        ({"seed": 2**64}, "seed must be between"),
        ({"width": 64.0}, "width must be an integer"),
    ],
)
def test_bad_generation_arguments(context: sdcpp.Context, overrides: dict, message: str) -> None:
    arguments = {**FAST, **overrides}
    with pytest.raises(sdcpp.InvalidArgument, match=message):
        context.txt2img("a cat", **arguments)


def test_invalid_argument_is_also_a_value_error(context: sdcpp.Context) -> None:
    with pytest.raises(ValueError):
        context.txt2img("a cat", steps=0)


def test_prompt_with_nul_character(context: sdcpp.Context) -> None:
    with pytest.raises(sdcpp.InvalidArgument, match="NUL"):
        context.txt2img("a\0cat", **FAST)


def test_closed_context(sd15_model: Path) -> None:
    ctx = sdcpp.Context(sd15_model, threads=2)
    ctx.close()
    assert ctx.closed
    with pytest.raises(sdcpp.ContextClosedError):
        ctx.txt2img("a cat", **FAST)
    ctx.close()  # closing twice is harmless
