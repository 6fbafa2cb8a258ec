"""Trampolines from the engine back into Python: logs, progress, previews, cancellation.

The engine's callbacks are process-global, so they are installed once at import and route each
event to the generation running on the calling thread (the engine reports progress and logs from
the thread that called it). Exceptions raised inside a callback -- including KeyboardInterrupt,
which Python delivers at the first Python code run in the main thread after Ctrl-C -- are stored,
the generation is cancelled through the patched ``sd_cancel_generation``, and the exception is
re-raised by the caller once the C call has returned.
"""
from __future__ import annotations

import contextlib
import logging
import threading
from typing import Any, Callable, Iterator, Optional

import numpy as np

from ._ffi import ffi, lib

logger = logging.getLogger("sdcpp")

_LOG_LEVELS = {
    lib.SD_LOG_DEBUG: logging.DEBUG,
    lib.SD_LOG_INFO: logging.INFO,
    lib.SD_LOG_WARN: logging.WARNING,
    lib.SD_LOG_ERROR: logging.ERROR,
}

ProgressCallback = Callable[[int, int, float], Any]
"""Called as ``progress(step, steps, seconds_per_step)`` after each sampling step."""

PreviewCallback = Callable[[int, "list[np.ndarray]", bool], Any]
"""Called as ``preview(step, images, is_noisy)`` with uint8 (H, W, 3) arrays."""


class ActiveCall:
    """State of one engine call in progress on one thread."""

    def __init__(
        self,
        ctx_ptr: Any = None,
        on_progress: Optional[ProgressCallback] = None,
        on_preview: Optional[PreviewCallback] = None,
    ) -> None:
        self.ctx_ptr = ctx_ptr
        self.on_progress = on_progress
        self.on_preview = on_preview
        self.error: Optional[BaseException] = None
        self.cancel_requested = False
        self.engine_log: list[str] = []
        self.steps_done = 0

    def cancel(self) -> None:
        """Ask the engine to stop at its next model evaluation (any thread)."""
        self.cancel_requested = True
        if self.ctx_ptr is not None:
            lib.sd_cancel_generation(self.ctx_ptr)

    def fail(self, error: BaseException) -> None:
        """Record the first exception raised in a callback and stop the generation."""
        if self.error is None:
            self.error = error
        self.cancel()


_local = threading.local()


def current_call() -> Optional[ActiveCall]:
    call: Optional[ActiveCall] = getattr(_local, "call", None)
    return call


@contextlib.contextmanager
def active_call(call: ActiveCall) -> Iterator[ActiveCall]:
    """Route engine callbacks on this thread to ``call`` for the duration of the block."""
    previous = current_call()
    _local.call = call
    try:
        yield call
    finally:
        _local.call = previous


def image_to_array(image: Any) -> np.ndarray:
    """Copy an ``sd_image_t`` (RGB or RGBA bytes) into a new (H, W, C) uint8 array."""
    height, width, channels = int(image.height), int(image.width), int(image.channel)
    size = height * width * channels
    if image.data == ffi.NULL or size == 0:
        return np.zeros((height, width, max(channels, 3)), dtype=np.uint8)
    buffer = ffi.buffer(image.data, size)
    return np.frombuffer(buffer, dtype=np.uint8).reshape(height, width, channels).copy()


def _on_escaped_error(exc_type: Any, exc_value: Optional[BaseException], traceback: Any) -> None:
    """cffi calls this when an exception escapes a trampoline.

    A Ctrl-C (SIGINT) is raised by Python's signal handler at whatever bytecode a callback is
    running, possibly outside its ``try``; cffi would print and drop it. Record it on the active
    call instead, so the generation stops and the KeyboardInterrupt is re-raised after the C call.
    """
    call = getattr(_local, "call", None)
    if call is not None and exc_value is not None:
        call.fail(exc_value)


@ffi.def_extern(onerror=_on_escaped_error)  # type: ignore[untyped-decorator]
def _sdcpp_on_log(level: int, text: Any, data: Any) -> None:
    call = current_call()
    try:
        message = ffi.string(text).decode("utf-8", errors="replace").rstrip()
        py_level = _LOG_LEVELS.get(level, logging.INFO)
        if call is not None and py_level >= logging.WARNING:
            call.engine_log.append(message)
        logger.log(py_level, "%s", message)
    except BaseException as error:  # noqa: BLE001 - KeyboardInterrupt lands here too
        if call is not None:
            call.fail(error)


@ffi.def_extern(onerror=_on_escaped_error)  # type: ignore[untyped-decorator]
def _sdcpp_on_progress(step: int, steps: int, seconds: float, data: Any) -> None:
    call = current_call()
    if call is None:
        return
    try:
        if call.cancel_requested:
            # Re-assert: the engine clears the flag when a generation starts.
            lib.sd_cancel_generation(call.ctx_ptr)
            return
        if step > 0:
            call.steps_done += 1
        if call.on_progress is not None and step > 0:
            call.on_progress(int(step), int(steps), float(seconds))
    except BaseException as error:  # noqa: BLE001
        call.fail(error)


@ffi.def_extern(onerror=_on_escaped_error)  # type: ignore[untyped-decorator]
def _sdcpp_on_preview(step: int, frame_count: int, frames: Any, is_noisy: bool, data: Any) -> None:
    call = current_call()
    if call is None or call.on_preview is None:
        return
    try:
        images = [image_to_array(frames[i]) for i in range(frame_count)]
        call.on_preview(int(step), images, bool(is_noisy))
    except BaseException as error:  # noqa: BLE001
        call.fail(error)


def install() -> None:
    """Install the process-wide engine callbacks (done once at import)."""
    lib.sd_set_log_callback(lib._sdcpp_on_log, ffi.NULL)
    lib.sd_set_progress_callback(lib._sdcpp_on_progress, ffi.NULL)


install()
