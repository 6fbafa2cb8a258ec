"""sdcpp-cli writes a valid PNG of the requested size and reports errors with a non-zero exit."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from PIL import Image


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sdcpp.cli", *args], capture_output=True, text=True, timeout=600)


def test_cli_writes_png_of_requested_size(sd15_model: Path, tmp_path: Path) -> None:
    output = tmp_path / "cat.png"
    result = run_cli("-m", str(sd15_model), "-p", "a cat", "-W", "64", "-H", "48", "--steps", "2",
                     "-s", "3", "-t", "2", "-o", str(output))
    assert result.returncode == 0, result.stderr
    with Image.open(output) as image:
        assert image.format == "PNG"
        assert image.size == (64, 48)
        assert "Steps: 2" in image.info["parameters"]
        assert "Seed: 3" in image.info["parameters"]
    assert not list(tmp_path.glob(".*partial*")), "temporary file left behind"


def test_cli_bad_flag_value_fails_cleanly(sd15_model: Path, tmp_path: Path) -> None:
    result = run_cli("-m", str(sd15_model), "-p", "x", "-W", "65", "-o", str(tmp_path / "x.png"))
    assert result.returncode == 1
    assert "width must be a multiple of 8" in result.stderr
    assert not (tmp_path / "x.png").exists()


def test_cli_unknown_flag_and_missing_model(tmp_path: Path) -> None:
    assert run_cli("--no-such-flag").returncode == 2
    missing = run_cli("-m", str(tmp_path / "missing.gguf"), "-p", "x")
    assert missing.returncode == 1
    assert "no such file" in missing.stderr


def test_cli_deepcache_flag_reports_counts(sd15_model: Path, tmp_path: Path) -> None:
    output = tmp_path / "dc.png"
    result = run_cli("-m", str(sd15_model), "-p", "a cat", "-W", "64", "-H", "64", "--steps", "6",
                     "--sampling-method", "euler", "-t", "2", "--deepcache", "3,0,0,6", "-o", str(output))
    assert result.returncode == 0, result.stderr
    assert "DeepCache: 2 full, 4 reused model evaluations" in result.stderr
    with Image.open(output) as image:
        assert 'DeepCache: "3,0,0,6"' in image.info["parameters"]
    bad = run_cli("-m", str(sd15_model), "-p", "a cat", "-W", "64", "-H", "64", "--deepcache", "3,99",
                  "-o", str(tmp_path / "bad.png"))
    assert bad.returncode == 1 and "depth 99 is out of range" in bad.stderr
