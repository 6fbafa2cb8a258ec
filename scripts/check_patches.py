#!/usr/bin/env python3
"""Apply patches/series to a fresh copy of vendor/stable-diffusion.cpp and report each patch.

The build does the same (cmake/PatchedEngine.cmake); this is the quick check while editing a patch.
With --output DIR the patched tree is left in DIR (e.g. to regenerate a patch with diff -ruN).
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VENDOR = REPO / "vendor/stable-diffusion.cpp"
PATCHES = REPO / "patches"


def series() -> list[str]:
    names = []
    for line in (PATCHES / "series").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            names.append(line)
    return names


def apply_series(target: Path) -> bool:
    ok = True
    for name in series():
        result = subprocess.run(["patch", "-p1", "--forward", "--batch", "--no-backup-if-mismatch",
                                 "--reject-file=-", "-i", str(PATCHES / name)],
                                cwd=target, capture_output=True, text=True)
        status = "applies" if result.returncode == 0 else "FAILS"
        print(f"{name}: {status}")
        if result.returncode != 0:
            print(result.stdout + result.stderr)
            ok = False
            break
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--output", type=Path, help="keep the patched tree here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        target = args.output or Path(tmp) / "engine"
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(VENDOR, target)
        return 0 if apply_series(target) else 1


if __name__ == "__main__":
    sys.exit(main())
