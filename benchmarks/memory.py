"""Peak resident memory of this process, per measured call.

Linux keeps a high-water mark (VmHWM) of the resident set; writing ``5`` to /proc/self/clear_refs
resets it to the current RSS, so the peak of each generation can be read on its own. Where that
is not allowed, a sampling thread polls VmRSS instead (coarser: it can miss short spikes).
"""
from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Optional

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def _status_kib(field: str) -> Optional[int]:
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def current_rss_mib() -> Optional[float]:
    """The resident set size now, MiB (None off Linux)."""
    kib = _status_kib("VmRSS")
    return None if kib is None else kib / 1024.0


class PeakRss:
    """Context manager: ``with PeakRss() as peak: ...; peak.mib`` is the peak RSS during the block."""

    def __init__(self, poll_s: float = 0.05) -> None:
        self.mib: Optional[float] = None
        self.method = "VmHWM"
        self._poll_s = poll_s
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._polled_kib = 0

    def _poll(self) -> None:
        while not self._stop.is_set():
            self._polled_kib = max(self._polled_kib, _status_kib("VmRSS") or 0)
            time.sleep(self._poll_s)

    def __enter__(self) -> "PeakRss":
        try:
            _CLEAR_REFS.write_text("5")
        except OSError:
            self.method = "VmRSS polling"
            self._thread = threading.Thread(target=self._poll, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._polled_kib = max(self._polled_kib, _status_kib("VmRSS") or 0)
            self.mib = self._polled_kib / 1024.0
        else:
            kib = _status_kib("VmHWM")
            self.mib = None if kib is None else kib / 1024.0
