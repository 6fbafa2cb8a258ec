"""Ownership of one engine object (a model context, an upscaler): close(), context manager,
a lock that serialises calls, garbage collection as a fallback, and a clear refusal to be
pickled or copied."""
from __future__ import annotations

import threading
from types import TracebackType
from typing import Any, Callable, Optional, TypeVar

from .errors import ContextClosedError

_Self = TypeVar("_Self", bound="EngineHandle")


class EngineHandle:
    """Base class of the objects that own an engine pointer.

    Subclasses set ``_ptr`` once the engine object exists and name the engine's free function in
    ``_free_engine_object``; ``_before_close`` may stop work in progress.
    """

    _free_engine_object: Callable[[Any], None]
    _kind = "object"

    def __init__(self) -> None:
        self._ptr: Any = None
        self._lock = threading.RLock()

    @property
    def closed(self) -> bool:
        """True once :meth:`close` has run."""
        return self._ptr is None

    def _before_close(self) -> None:
        """Called by :meth:`close` before it takes the lock."""

    def close(self) -> None:
        """Free the engine's memory now (work running in another thread is stopped or waited for)."""
        self._before_close()
        with self._lock:
            if self._ptr is not None:
                type(self)._free_engine_object(self._ptr)
                self._ptr = None

    def __enter__(self: _Self) -> _Self:
        return self

    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.close()

    def __del__(self) -> None:
        if getattr(self, "_ptr", None) is not None:
            type(self)._free_engine_object(self._ptr)
            self._ptr = None

    def __reduce_ex__(self, protocol: Any) -> Any:
        # A copy would share (and free twice) the engine pointer, and a pickle cannot carry a
        # loaded model to another process: say where to create the object instead.
        raise TypeError(
            f"an sdcpp.{self._kind} cannot be pickled or copied: it holds a model loaded into this "
            f"process's memory. Create the {self._kind} in the process that uses it (in a Ray actor or "
            f"a multiprocessing worker: in its __init__) and send the model path there instead"
        )

    def _require_open(self) -> Any:
        if self._ptr is None:
            raise ContextClosedError(f"this {self._kind} is closed")
        return self._ptr
