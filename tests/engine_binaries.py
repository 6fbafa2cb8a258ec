"""Finding the engine's C++ test binaries (tests/cpp/), built by the package build with
``-Ccmake.define.SDCPP_BUILD_TESTS=ON`` (what .ci/run does)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def cpp_test_binary(name: str, folder: str = "tests/cpp") -> Path:
    """The newest build of <folder>/<name> (tests/cpp, or benchmarks/cpp for the kernel benchmark);
    fails in CI and skips elsewhere when it was not built."""
    candidates = sorted(REPO.glob(f"build/*/{folder}/{name}"), key=lambda p: p.stat().st_mtime)
    if not candidates:
        if os.environ.get("CI"):
            pytest.fail(f"{name} was not built: .ci/run must build with SDCPP_BUILD_TESTS=ON")
        pytest.skip("build with -Ccmake.define.SDCPP_BUILD_TESTS=ON to run the engine's C++ tests")
    return candidates[-1]
