"""Cancellation through patch 0001: prompt, distinct, and the Context stays usable."""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest

import sdcpp
from conftest import FAST


class Stop(Exception):
    pass


def test_exception_in_progress_callback_stops_and_propagates(context: sdcpp.Context) -> None:
    steps_seen: list[int] = []

    def progress(step: int, steps: int, seconds: float) -> None:
        steps_seen.append(step)
        if step == 2:
            raise Stop("enough")

    with pytest.raises(Stop, match="enough"):
        context.txt2img("a cat", seed=5, width=64, height=64, steps=30, progress=progress)
    assert steps_seen == [1, 2], "sampling went on after the callback raised"


def test_cancel_from_another_thread_is_prompt_and_context_stays_usable(context: sdcpp.Context) -> None:
    reference = context.txt2img("a cat", seed=21, **FAST)
    started = threading.Event()
    steps_seen: list[int] = []

    def progress(step: int, steps: int, seconds: float) -> None:
        steps_seen.append(step)
        started.set()

    canceller = threading.Thread(target=lambda: (started.wait(60), context.cancel()))
    canceller.start()
    begin = time.perf_counter()
    with pytest.raises(sdcpp.GenerationCancelled):
        context.txt2img("a cat", seed=21, width=64, height=64, steps=200, progress=progress)
    canceller.join()
    assert len(steps_seen) < 20, f"cancel took {len(steps_seen)} steps"
    assert time.perf_counter() - begin < 60
    np.testing.assert_array_equal(context.txt2img("a cat", seed=21, **FAST), reference)


def test_keyboard_interrupt_in_callback_propagates_and_context_recovers(context: sdcpp.Context) -> None:
    def progress(step: int, steps: int, seconds: float) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        context.txt2img("a cat", seed=2, width=64, height=64, steps=50, progress=progress)
    image = context.txt2img("a cat", seed=2, **FAST)
    assert image.shape == (64, 64, 3)


def test_cancelled_is_distinct_from_failure() -> None:
    assert issubclass(sdcpp.GenerationCancelled, sdcpp.SdcppError)
    assert not issubclass(sdcpp.GenerationCancelled, sdcpp.GenerationError)
