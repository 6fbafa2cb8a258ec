"""vendor/ is byte-identical to the pinned upstream sdist (minus documented pruning)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_vendor_tree_matches_manifest() -> None:
    result = subprocess.run([sys.executable, str(REPO / "scripts/vendor_engine.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "pristine" in result.stdout


def test_manifest_covers_the_compressed_vocabulary() -> None:
    manifest = (REPO / "vendor/MANIFEST.sha256").read_text()
    for name in ("clip_t5.hpp", "mistral.hpp", "qwen.hpp", "umt5.hpp"):
        assert f"src/tokenizers/vocab/{name}\n" in manifest
    assert not (REPO / "vendor/stable-diffusion.cpp/src/tokenizers/vocab/umt5.hpp").exists()


def test_every_patch_has_a_header_and_is_in_the_series() -> None:
    patch_dir = REPO / "patches"
    series = [line.strip() for line in (patch_dir / "series").read_text().splitlines() if line.strip()]
    assert series == sorted(series)
    assert sorted(p.name for p in patch_dir.glob("*.patch")) == series
    for name in series:
        text = (patch_dir / name).read_text()
        head, _, diff = text.partition("\n---\n")
        assert head.startswith("From:") and "Subject:" in head and len(head.splitlines()) >= 4, name
        assert "+++ b/" in diff, name
