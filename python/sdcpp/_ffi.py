"""Load the compiled cffi module and check that it matches this package.

The extension carries the package version and the hash of the patch series it was built with.
A mismatch (a stale build in an editable checkout, a module copied from another version) is
refused at import with a message that says how to rebuild, rather than crashing later.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from .errors import BuildMismatchError

try:
    from . import _sdcpp  # type: ignore[attr-defined]
except ImportError as exc:  # pragma: no cover - only without a build
    raise ImportError(
        "sdcpp's compiled engine module is missing: install the package with `pip install .` "
        f"from a source checkout ({exc})"
    ) from exc

ffi: Any = _sdcpp.ffi
lib: Any = _sdcpp.lib

PACKAGE_VERSION: str = ffi.string(lib.sdcpp_package_version()).decode()
PATCH_SERIES_HASH: str = ffi.string(lib.sdcpp_patch_series_hash()).decode()
BACKEND: str = ffi.string(lib.sdcpp_backend()).decode()


def series_hash(patch_dir: Path) -> str:
    """The hash CMake stamps into the extension: sha256 over 'name sha256' lines of the series."""
    lines = []
    for line in (patch_dir / "series").read_text().splitlines():
        name = line.strip()
        if not name or name.startswith("#"):
            continue
        digest = hashlib.sha256((patch_dir / name).read_bytes()).hexdigest()
        lines.append(f"{name} {digest}\n")
    return hashlib.sha256("".join(lines).encode()).hexdigest()


def _check_source_checkout() -> None:
    """In a source checkout (editable install) the patches next to the package must match."""
    patch_dir = Path(__file__).resolve().parent.parent.parent / "patches"
    if not (patch_dir / "series").is_file():
        return
    expected = series_hash(patch_dir)
    if expected != PATCH_SERIES_HASH:
        raise BuildMismatchError(
            f"the compiled engine was built from another patch series ({PATCH_SERIES_HASH[:12]}) "
            f"than {patch_dir} ({expected[:12]}): rebuild with `pip install .`"
        )


def _check() -> None:
    from . import __version__

    if PACKAGE_VERSION != __version__:
        raise BuildMismatchError(
            f"the compiled engine belongs to sdcpp {PACKAGE_VERSION}, not {__version__}: "
            "reinstall the package"
        )
    _check_source_checkout()


def to_str(c_string: Any) -> str:
    """Copy a C string into a Python str ('' for NULL)."""
    if c_string == ffi.NULL:
        return ""
    return str(ffi.string(c_string).decode("utf-8", errors="replace"))


_check()
