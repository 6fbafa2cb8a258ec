"""What was built: package version, engine version, patch series, backend, CPU features."""
from __future__ import annotations

import functools

from ._ffi import BACKEND, PACKAGE_VERSION, PATCH_SERIES_HASH, lib, to_str

ENGINE_SOURCE = "stable-diffusion.cpp from the sdist of stable-diffusion-cpp-python 0.4.7"


def system_info() -> str:
    """The engine's description of the CPU features and backends it was compiled with."""
    return to_str(lib.sd_get_system_info())


def build_info() -> dict[str, str]:
    """Versions and build settings of the compiled engine, for bug reports and result metadata."""
    return dict(_build_info())


@functools.lru_cache(maxsize=1)
def _build_info() -> dict[str, str]:
    """The engine's build facts, read once: they cannot change in a running process."""
    return {
        "sdcpp": PACKAGE_VERSION,
        "engine": ENGINE_SOURCE,
        "engine_version": to_str(lib.sd_version()),
        "engine_commit": to_str(lib.sd_commit()),
        "patch_series": PATCH_SERIES_HASH,
        "backend": BACKEND,
        "physical_cores": str(int(lib.sd_get_num_physical_cores())),
        # ggml's CPU backend features, space-separated: "AVX2 FMA ... LLAMAFILE OPENMP REPACK".
        "cpu_features": to_str(lib.sdcpp_cpu_features()),
    }
