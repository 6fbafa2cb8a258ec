"""The exception hierarchy of sdcpp: every error the package raises derives from SdcppError."""
from __future__ import annotations

from typing import Any, Sequence


class SdcppError(Exception):
    """Base class of all sdcpp errors.

    ``engine_log`` holds the engine's own warning/error lines emitted during the failed call,
    which usually say what went wrong (a missing tensor, an unsupported model, ...).
    Errors pickle with their message and engine log intact, so they cross process boundaries
    (multiprocessing, Ray workers) unchanged.
    """

    def __init__(self, message: str, engine_log: Sequence[str] = ()) -> None:
        self.engine_log = list(engine_log)
        self._message = message
        if self.engine_log:
            message = message + "\nengine log:\n  " + "\n  ".join(self.engine_log)
        super().__init__(message)

    def __reduce__(self) -> tuple[Any, ...]:
        # Exception's own reduce would call cls(full_text) and lose engine_log; rebuild from
        # the original arguments and restore any other attribute (a subclass's, a traceback note).
        state = {key: value for key, value in self.__dict__.items() if key not in ("engine_log", "_message")}
        return (type(self), (self._message, self.engine_log), state or None)


class InvalidArgument(SdcppError, ValueError):
    """An argument was rejected before any call into the engine."""


class ModelLoadError(SdcppError):
    """The engine could not load a model file."""


class GenerationError(SdcppError):
    """The engine failed while generating an image."""


class GenerationCancelled(SdcppError):
    """A generation was cancelled (cancel(), a callback that raised, or Ctrl-C)."""


class ContextClosedError(SdcppError):
    """A method was called on a Context after close()."""


class BuildMismatchError(SdcppError, ImportError):
    """The compiled extension does not match the Python package or the patch series."""


class ConversionError(SdcppError):
    """Converting a model file failed."""
