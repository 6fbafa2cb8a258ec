"""Threads: one generation at a time per Context, two Contexts side by side, callbacks that
never cross between Contexts."""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Callable

import numpy as np

import sdcpp
from conftest import FAST


def _in_threads(*jobs: Callable[[], Any]) -> list[Any]:
    results: list[Any] = [None] * len(jobs)
    errors: list[BaseException] = []

    def run(index: int, job: Callable[[], Any]) -> None:
        try:
            results[index] = job()
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(600)
    assert not errors, errors
    return results


def test_two_threads_sharing_one_context_are_serialised(context: sdcpp.Context) -> None:
    expected = [context.txt2img("a cat", seed=s, **FAST) for s in (31, 32)]
    active = []
    overlap = []

    def progress(step: int, steps: int, seconds: float) -> None:
        active.append(threading.get_ident())
        if len(set(active[-2:])) > 1 and step > 1:
            overlap.append(step)

    got = _in_threads(lambda: context.txt2img("a cat", seed=31, progress=progress, **FAST),
                      lambda: context.txt2img("a cat", seed=32, progress=progress, **FAST))
    for image, reference in zip(got, expected):
        np.testing.assert_array_equal(image, reference)
    assert overlap == [], "steps of two generations interleaved on one Context"


def test_two_contexts_in_two_threads_with_their_own_callbacks(sd15_model: Path, context: sdcpp.Context) -> None:
    expected = context.txt2img("a cat", seed=41, **FAST)
    with sdcpp.Context(sd15_model, threads=1) as second:
        expected_second = second.txt2img("a dog", seed=42, **FAST)
        seen: dict[str, list[int]] = {"first": [], "second": []}
        got = _in_threads(
            lambda: context.txt2img("a cat", seed=41, progress=lambda s, n, t: seen["first"].append(s), **FAST),
            lambda: second.txt2img("a dog", seed=42, progress=lambda s, n, t: seen["second"].append(s), **FAST),
        )
    np.testing.assert_array_equal(got[0], expected)
    np.testing.assert_array_equal(got[1], expected_second)
    assert seen == {"first": [1, 2, 3], "second": [1, 2, 3]}, "a callback saw the other Context's steps"


def test_closing_from_another_thread_cancels_and_closes(sd15_model: Path) -> None:
    ctx = sdcpp.Context(sd15_model, threads=1)
    started = threading.Event()

    def generate() -> str:
        try:
            ctx.txt2img("a cat", width=64, height=64, steps=200,
                        progress=lambda s, n, t: started.set())
        except sdcpp.GenerationCancelled:
            return "cancelled"
        return "finished"

    def close() -> None:
        started.wait(300)
        ctx.close()

    outcome, _ = _in_threads(generate, close)
    assert outcome == "cancelled"
    assert ctx.closed
