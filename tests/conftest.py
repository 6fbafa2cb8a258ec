"""Shared fixtures: one synthetic SD1.x model and one loaded Context per test session."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import pytest

REPO = Path(__file__).resolve().parent.parent
CACHE_DIR = Path(os.environ.get("SDCPP_CACHE_DIR", REPO / ".cache"))

# Small and fast: every generation in the suite uses these unless it needs something else.
FAST = dict(width=64, height=64, steps=3, cfg_scale=7.0)


@pytest.fixture(scope="session")
def sd15_model() -> Path:
    """The synthetic SD1.x model (random weights, exact v1.5 layout) as q8_0 GGUF, cached."""
    from sdcpp.testing import ensure_synthetic_model

    return ensure_synthetic_model("sd15", "q8_0", cache_dir=CACHE_DIR)


@pytest.fixture(scope="session")
def context(sd15_model: Path) -> Iterator["object"]:
    """One loaded Context shared by the session (loading costs seconds)."""
    import sdcpp

    with sdcpp.Context(sd15_model, threads=2) as ctx:
        yield ctx


@pytest.fixture(scope="session")
def sdxl_model() -> Path:
    """The synthetic SDXL model (random weights, exact SDXL base layout) as q8_0 GGUF, cached."""
    from sdcpp.testing import ensure_synthetic_model

    return ensure_synthetic_model("sdxl", "q8_0", cache_dir=CACHE_DIR)
