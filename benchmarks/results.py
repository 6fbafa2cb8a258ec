"""The results document: one JSON file per benchmark run, rewritten after every measurement so an
interrupted run keeps what it measured."""
from __future__ import annotations

import json
import math
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import sdcpp

RESULTS_DIR = Path(__file__).resolve().parent / "results"
SCHEMA = "sdcpp-benchmarks/1"


def cpu_model() -> str:
    """The CPU's model name (from /proc/cpuinfo), or the platform's processor string."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    info: dict[str, Any] = {"cpu": cpu_model(), "logical_cpus": os.cpu_count(), "platform": platform.platform(),
                            "python": sys.version.split()[0], "gpu": None}
    try:
        info["build"] = sdcpp.build_info()
    except Exception as error:  # noqa: BLE001 - informational only
        info["build"] = {"error": str(error)}
    return info


def clean(value: Any) -> Any:
    """JSON-safe copy: NaN -> None, +-inf -> "inf"/"-inf", numpy scalars -> Python numbers."""
    if isinstance(value, dict):
        return {str(key): clean(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(item) for item in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return round(value, 6)
    return value


class ResultsDocument:
    """The JSON written by ``python -m benchmarks.run``."""

    def __init__(self, path: Path, argv: list[str]) -> None:
        self.path = path
        self.data: dict[str, Any] = {"schema": SCHEMA, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                                     "argv": argv, "machine": machine(), "groups": [], "binding": [],
                                     "threads": []}

    def add(self, section: str, item: dict[str, Any]) -> None:
        self.data.setdefault(section, []).append(item)
        self.save()

    def replace_last(self, section: str, item: dict[str, Any]) -> None:
        self.data[section][-1] = item
        self.save()

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(clean(self.data), indent=1))
        temporary.replace(self.path)


def load(path: Path) -> dict[str, Any]:
    with open(path) as stream:
        document: dict[str, Any] = json.load(stream)
    return document
