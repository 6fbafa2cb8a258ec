"""Build the engine's own sd-cli from the same patched tree as the Python extension.

    python -m benchmarks.build_engine_cli                  # -> build/engine-cli/.../sd-cli
    python -m benchmarks.build_engine_cli --jobs 2 --print-path

It configures our top-level CMakeLists.txt with ``-DSDCPP_BUILD_ENGINE_CLI=ON`` into its own build
directory (``build/engine-cli``), so sd-cli is compiled from ``vendor/`` + ``patches/`` with exactly
the flags the wheel uses (static engine, position-independent code, ``GGML_NATIVE``, Release), and
builds only the ``sd-cli`` target. The wheel's own build directory is never touched. Builds are
serialised with ``flock /tmp/sdcpp-build.lock`` when ``flock`` exists (several agents share a machine).
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Optional, Sequence

REPO = Path(__file__).resolve().parent.parent
DEFAULT_BUILD_DIR = REPO / "build" / "engine-cli"
LOCK_FILE = "/tmp/sdcpp-build.lock"


def find_engine_cli(build_dir: Path = DEFAULT_BUILD_DIR) -> Optional[Path]:
    """The sd-cli executable under ``build_dir``, or None when it has not been built."""
    if not build_dir.is_dir():
        return None
    candidates = sorted(path for path in build_dir.rglob("sd-cli") if path.is_file() and path.stat().st_mode & 0o111)
    return candidates[0] if candidates else None


def _locked(command: list[str]) -> list[str]:
    flock = shutil.which("flock")
    return [flock, LOCK_FILE, *command] if flock else command


def build_engine_cli(build_dir: Path = DEFAULT_BUILD_DIR, jobs: int = 2, native: bool = True) -> Path:
    """Configure (once) and build the sd-cli target; return the executable's path."""
    configure = [
        "cmake", "-S", str(REPO), "-B", str(build_dir),
        "-DSDCPP_BUILD_ENGINE_CLI=ON",
        f"-DSDCPP_NATIVE={'ON' if native else 'OFF'}",
        "-DCMAKE_BUILD_TYPE=Release",
        f"-DPython_EXECUTABLE={sys.executable}",
    ]
    if not (build_dir / "CMakeCache.txt").exists():
        subprocess.run(_locked(configure), check=True)
    subprocess.run(_locked(["cmake", "--build", str(build_dir), "--target", "sd-cli", f"-j{jobs}"]), check=True)
    executable = find_engine_cli(build_dir)
    if executable is None:
        raise RuntimeError(f"the build finished but no sd-cli was found under {build_dir}")
    return executable


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build-dir", type=Path, default=DEFAULT_BUILD_DIR)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--no-native", action="store_true", help="build without -march=native")
    parser.add_argument("--print-path", action="store_true", help="only print the path of an existing sd-cli")
    args = parser.parse_args(argv)
    if args.print_path:
        found = find_engine_cli(args.build_dir)
        if found is None:
            print(f"no sd-cli under {args.build_dir}; run python -m benchmarks.build_engine_cli", file=sys.stderr)
            return 1
        print(found)
        return 0
    print(build_engine_cli(args.build_dir, args.jobs, not args.no_native))
    return 0


if __name__ == "__main__":
    sys.exit(main())
