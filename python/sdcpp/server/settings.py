"""Settings of one server process: how to load the model, where to listen, limits and defaults."""
from __future__ import annotations

import dataclasses
import ipaddress
from typing import Any, Optional

LOOPBACK_NAMES = frozenset({"localhost", "ip6-localhost"})


@dataclasses.dataclass(frozen=True)
class GenerationDefaults:
    """Generation settings used when a request leaves them out (sd-cli's names and defaults)."""

    width: int = 512
    height: int = 512
    steps: int = 20
    cfg_scale: float = 7.0
    seed: int = -1
    sampling_method: Optional[str] = None
    scheduler: Optional[str] = None
    clip_skip: int = -1
    deepcache: Optional[str] = None
    """DeepCache for every request that does not choose a cache itself (``"3,0"``; None = off)."""


@dataclasses.dataclass(frozen=True)
class ServerSettings:
    """Everything the server needs, parsed once from the command line (or built in Python).

    ``context_options`` are keyword arguments of :class:`sdcpp.Context` besides ``model``.
    """

    model: Optional[str] = None
    context_options: dict[str, Any] = dataclasses.field(default_factory=dict)
    listen_ip: str = "127.0.0.1"
    listen_port: int = 1234
    api_key: Optional[str] = None
    cors_origins: tuple[str, ...] = ()
    defaults: GenerationDefaults = GenerationDefaults()
    max_queue: int = 16
    """Jobs that may wait behind the running one; one more answers 429."""
    max_body_bytes: int = 32 * 1024 * 1024
    max_image_pixels: int = 4096 * 4096
    """Largest decoded input image (width x height)."""
    max_output_pixels: int = 2048 * 2048
    """Largest requested image (width x height, after the highres fix)."""
    max_batch: int = 16
    max_steps: int = 1000
    result_ttl_s: float = 600.0
    """Finished jobs are kept this long (seconds) for their results to be fetched."""
    max_result_bytes: int = 256 * 1024 * 1024
    """PNG bytes kept for finished jobs; the oldest are dropped first beyond it."""
    max_jobs_kept: int = 256
    output_dir: Optional[str] = None
    """When set, every finished image is also saved there as ``<job id>-<index>.png``."""

    @property
    def model_name(self) -> str:
        """The served model's display name (its file name)."""
        from pathlib import Path

        path = self.model or self.context_options.get("diffusion_model") or "model"
        return Path(str(path)).name


def is_loopback(host: str) -> bool:
    """True when ``host`` only accepts connections from this machine."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def startup_warnings(settings: ServerSettings) -> list[str]:
    """Warnings to print before serving (an exposed address without an API key)."""
    warnings = []
    if not is_loopback(settings.listen_ip) and not settings.api_key:
        warnings.append(f"listening on {settings.listen_ip}, which other machines can reach, without --api-key: "
                        "anyone on the network can use this server")
    if "*" in settings.cors_origins:
        warnings.append("--cors-origin '*' lets any web page call this server from a visitor's browser")
    return warnings
