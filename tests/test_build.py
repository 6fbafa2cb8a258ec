"""The installed package: build information, the patch series, the C API mirror."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

import sdcpp
from sdcpp import _ffi

REPO = Path(__file__).resolve().parent.parent


def test_build_info_names_versions_and_backend() -> None:
    info = sdcpp.build_info()
    assert info["sdcpp"] == sdcpp.__version__
    assert info["backend"] in {"cpu", "cuda", "vulkan", "metal"}
    assert re.fullmatch(r"[0-9a-f]{64}", info["patch_series"])
    assert int(info["physical_cores"]) >= 1
    assert "stable-diffusion-cpp-python 0.4.7" in info["engine"]
    # sd_commit() names the sdist and the patch series it was built with.
    assert info["engine_commit"].endswith("+patches-" + info["patch_series"][:12])
    assert info["engine_version"] == "stable-diffusion-cpp-python-0.4.7-sdist"
    assert sdcpp.system_info()


def test_extension_was_built_from_this_patch_series() -> None:
    assert _ffi.series_hash(REPO / "patches") == sdcpp.PATCH_SERIES_HASH


def test_patched_symbol_exists() -> None:
    # Patch 0001 adds sd_cancel_generation(); calling it on NULL is a documented no-op.
    _ffi.lib.sd_cancel_generation(_ffi.ffi.NULL)


def _struct_fields(header: str) -> dict[str, list[str]]:
    structs = {}
    for body, name in re.findall(r"typedef struct \{(.*?)\}\s*(\w+);", header, flags=re.S):
        fields = []
        for line in body.splitlines():
            line = line.split("//")[0].strip().rstrip(";")
            if line:
                fields.append(line.split()[-1].lstrip("*"))
        structs[name] = fields
    return structs


def test_cdef_mirrors_the_patched_header_field_by_field() -> None:
    headers = sorted(REPO.glob("build/*/engine-src/include/stable-diffusion.h"))
    if not headers:
        pytest.skip("no build directory with the patched header (build with `pip install .` first)")
    real = _struct_fields(headers[-1].read_text())
    mirror = _struct_fields((REPO / "python/sdcpp/_cdef.h").read_text())
    assert real.keys() == mirror.keys()
    for name in real:
        assert mirror[name] == real[name], name


def test_engine_name_tables_are_exposed() -> None:
    assert "euler_a" in sdcpp.sampling_methods()
    assert "heun" in sdcpp.sampling_methods()
    assert "karras" in sdcpp.schedulers()
    assert "q8_0" in sdcpp.weight_types()
    assert "cuda" in sdcpp.rng_types()


def test_wheel_installs_nothing_outside_the_package() -> None:
    from importlib.metadata import distribution

    files = [str(path) for path in (distribution("sdcpp").files or [])]
    # An editable install (the developer loop) adds scikit-build-core's import redirect.
    strays = [f for f in files if not f.startswith(("sdcpp/", "sdcpp-")) and "/bin/" not in f
              and not f.startswith("../") and "_editable_skbc_sdcpp" not in f]
    assert strays == [], f"the wheel installs files outside sdcpp/: {strays[:5]}"
