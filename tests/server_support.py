"""Helpers for the server tests: a real ``python -m sdcpp.server`` process on a free loopback port."""
from __future__ import annotations

import base64
import io
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

# Generation settings that keep the tests short: 64x64, 2 steps, one U-Net call per step.
FAST = {"width": 64, "height": 64, "steps": 2, "cfg_scale": 1.0}
STARTUP_TIMEOUT_S = 240.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    """``python -m sdcpp.server`` on 127.0.0.1, started and waited for; :meth:`stop` sends SIGTERM."""

    def __init__(self, model: Path, extra_args: Sequence[str] = (), log_path: Optional[Path] = None,
                 env: Optional[dict[str, str]] = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        args = [sys.executable, "-m", "sdcpp.server", "-m", str(model), "--listen-ip", "127.0.0.1",
                "--listen-port", str(self.port), "-t", "2", "-W", "64", "-H", "64", "--steps", "2",
                "--cfg-scale", "1", *extra_args]
        self._log = open(log_path, "wb") if log_path is not None else subprocess.DEVNULL
        self.process = subprocess.Popen(args, stdout=self._log, stderr=subprocess.STDOUT,
                                        env={**os.environ, **(env or {})})
        self.returncode: Optional[int] = None

    def wait_ready(self, headers: Optional[dict[str, str]] = None) -> None:
        """Block until /sdcpp/v1/health answers "ok" (or the process died / timed out)."""
        import httpx

        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with {self.process.returncode}: {self.log()}")
            try:
                response = httpx.get(self.url + "/sdcpp/v1/health", headers=headers, timeout=5.0)
                if response.status_code == 200 and response.json()["status"] == "ok":
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"the server did not start within {STARTUP_TIMEOUT_S} s: {self.log()}")

    def stop(self, timeout: float = 90.0) -> int:
        """SIGTERM, wait for the exit, return the exit status (killed after ``timeout``)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(30)
        self.returncode = self.process.returncode
        if hasattr(self._log, "close"):
            self._log.close()  # type: ignore[union-attr]
        return int(self.returncode)

    def log(self) -> str:
        """What the server printed so far."""
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")[-4000:]


def png_b64(image: np.ndarray) -> str:
    """Base64 PNG of a uint8 array."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def decode_png(text: str) -> Any:
    """A base64 image -> PIL image (loaded)."""
    from PIL import Image

    image = Image.open(io.BytesIO(base64.b64decode(text)))
    image.load()
    return image


def wait_for(predicate: Any, timeout: float, interval: float = 0.2) -> Any:
    """Poll ``predicate()`` until it returns something truthy; raise AssertionError on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")
