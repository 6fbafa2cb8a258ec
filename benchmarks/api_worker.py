"""One generation through sdcpp's Python API in a fresh process, as sd-cli would do it
(load, generate, save a PNG, exit). Used by benchmarks.binding; prints one JSON line.

    python -m benchmarks.api_worker MODEL OUT.png --size 128 --steps 6 --cfg-scale 7 --threads 2
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from typing import Optional, Sequence

_started = time.perf_counter()

import sdcpp  # noqa: E402  (import time is part of what is measured)
from PIL import Image  # noqa: E402

from .measure import parse_stage_times  # noqa: E402


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("model")
    parser.add_argument("output")
    parser.add_argument("--prompt", default="a photograph of an astronaut riding a horse")
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--cfg-scale", type=float, default=7.0)
    parser.add_argument("--sampling-method", default="euler")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    lines = _Lines()
    logger = logging.getLogger("sdcpp")
    logger.addHandler(lines)
    logger.setLevel(logging.INFO)
    imported = time.perf_counter()
    with sdcpp.Context(args.model, threads=args.threads) as context:
        loaded = time.perf_counter()
        result = context.generate(args.prompt, width=args.size, height=args.size, steps=args.steps,
                                  cfg_scale=args.cfg_scale, seed=args.seed, sampling_method=args.sampling_method)
        generated = time.perf_counter()
        Image.fromarray(result.images[0]).save(args.output)
    print(json.dumps({"import_s": imported - _started, "load_s": loaded - imported,
                      "generate_call_s": generated - loaded, "stages": parse_stage_times(lines.lines)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
