"""Build benchmarks/probe/deepcache_probe (an unstripped C driver of the engine, for perf).

    python -m benchmarks.probe.build     # needs python -m benchmarks.build_engine_cli first
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from ..build_engine_cli import DEFAULT_BUILD_DIR

HERE = Path(__file__).resolve().parent


def build(build_dir: Path = DEFAULT_BUILD_DIR) -> Path:
    """Compile and link deepcache_probe against the static engine and ggml libraries in build_dir."""
    engine = build_dir / "engine"
    libraries = [engine / "libstable-diffusion.a", *sorted((engine / "ggml" / "src").glob("libggml*.a"))]
    missing = [str(path) for path in libraries if not path.exists()]
    if missing:
        raise FileNotFoundError(f"run python -m benchmarks.build_engine_cli first; missing {missing}")
    ggml = engine / "ggml" / "src"
    ordered = [engine / "libstable-diffusion.a", ggml / "libggml.a", ggml / "libggml-cpu.a", ggml / "libggml-base.a"]
    output = build_dir / "deepcache_probe"
    command = ["g++", "-O2", "-g", "-x", "c", str(HERE / "deepcache_probe.c"), "-x", "none",
               f"-I{build_dir / 'engine-src' / 'include'}", *map(str, ordered), "-fopenmp", "-lpthread", "-lm",
               "-o", str(output)]
    subprocess.run(command, check=True)
    return output


if __name__ == "__main__":
    print(build())
    sys.exit(0)
