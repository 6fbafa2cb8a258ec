"""Run the engine's C++ DeepCache test (tests/cpp/test_deepcache.cpp) built by the package build.

It builds the U-Net runner with random in-memory weights for SD1.x, tiny SD1.x and SDXL layouts and
proves, for every valid depth: reuse right after store on identical inputs equals the full output
bit for bit; reuse on other inputs differs; the shallow graph holds none of the skipped blocks;
slots never mix; ControlNet keeps its per-block controls. Build it with
``pip install . -Ccmake.define.SDCPP_BUILD_TESTS=ON`` (what .ci/run does).
"""
from __future__ import annotations

import subprocess

import pytest
from engine_binaries import cpp_test_binary

@pytest.mark.slow
def test_deepcache_engine_invariants() -> None:
    result = subprocess.run([str(cpp_test_binary("test_deepcache"))], capture_output=True, text=True, timeout=1800)
    output = result.stdout + result.stderr
    print(output[-6000:])
    assert result.returncode == 0, output[-6000:]
    assert "FAIL" not in output
    for layout in ("sd1", "sdxl"):
        assert layout in output.lower()
