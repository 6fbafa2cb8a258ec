"""The public API is typed: mypy --strict passes over the package (py.typed is shipped)."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def test_package_ships_py_typed() -> None:
    import sdcpp

    assert (Path(sdcpp.__file__).parent / "py.typed").is_file()


@pytest.mark.skipif(shutil.which("mypy") is None and not (Path(sys.prefix) / "bin" / "mypy").exists(),
                    reason="mypy is part of the test extra: pip install '.[test]'")
def test_mypy_strict_is_clean() -> None:
    result = subprocess.run([sys.executable, "-m", "mypy", "-p", "sdcpp", "--strict", "--ignore-missing-imports",
                             "--no-incremental"], cwd=REPO / "python", capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:]
