"""sdcpp-cli: sd-cli's flags and defaults, on top of the sdcpp Python API.

    sdcpp-cli -m model.gguf -p "a cat" -o cat.png
    sdcpp-cli demo            # make a synthetic model and generate from it (no download)
"""
from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path
from typing import Optional, Sequence

from . import params as P
from .cache import CACHE_MODES
from .context import Context
from .errors import SdcppError
from .images import save_png


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sdcpp-cli",
        description="Generate images with stable-diffusion.cpp (sd-cli's options). "
        "`sdcpp-cli demo` generates from a synthetic model made on the spot.",
    )
    model = parser.add_argument_group("model")
    model.add_argument("-m", "--model", help="path to the model (GGUF, safetensors or .ckpt)")
    model.add_argument("--vae", help="path to a standalone VAE")
    model.add_argument("-t", "--threads", type=int, default=-1,
                       help="number of threads; -1 = physical cores (default: -1)")
    gen = parser.add_argument_group("generation")
    gen.add_argument("-p", "--prompt", default="", help="the prompt to render")
    gen.add_argument("-n", "--negative-prompt", default="", help="the negative prompt (default: '')")
    gen.add_argument("-o", "--output", default="./output.png", help="output PNG path (default: ./output.png)")
    gen.add_argument("-W", "--width", type=int, default=P.DEFAULT_WIDTH, help="image width in pixels (default: 512)")
    gen.add_argument("-H", "--height", type=int, default=P.DEFAULT_HEIGHT, help="image height in pixels (default: 512)")
    gen.add_argument("--steps", type=int, default=P.DEFAULT_STEPS, help="number of sample steps (default: 20)")
    gen.add_argument("--cfg-scale", type=float, default=P.DEFAULT_CFG_SCALE,
                     help="unconditional guidance scale (default: 7.0)")
    gen.add_argument("-s", "--seed", type=int, default=P.DEFAULT_SEED,
                     help="RNG seed; < 0 for a random seed (default: 42)")
    gen.add_argument("--sampling-method", default=None,
                     help="sampling method: " + ", ".join(P.sampling_methods()) + " (default: the model's)")
    gen.add_argument("--scheduler", default=None,
                     help="denoiser sigma scheduler: " + ", ".join(P.schedulers()) + " (default: the method's)")
    cache = parser.add_argument_group("step caches")
    cache.add_argument("--deepcache", metavar="N,D,START,END", default=None,
                       help="DeepCache: interval N, depth D, window [START, END) in model evaluations "
                       "(e.g. 3,0,0,20; trailing parts optional)")
    cache.add_argument("--cache-mode", default=None,
                       help="step cache: " + ", ".join(CACHE_MODES[1:]))
    cache.add_argument("--cache-option", default=None,
                       help="cache options as key=value,... (deepcache: interval, depth, start, end; "
                       "ucache/easycache: threshold, start, end, ...; spectrum: w, m, lam, window, ...)")
    parser.add_argument("-v", "--verbose", action="store_true", help="print the engine's log")
    return parser


class _ProgressBar:
    """A one-line progress bar on a terminal; silent when stderr is not a terminal."""

    def __init__(self) -> None:
        self.enabled = sys.stderr.isatty()

    def __call__(self, step: int, steps: int, seconds: float) -> None:
        if not self.enabled:
            return
        width = 30
        filled = width * step // max(steps, 1)
        rate = f"{seconds:.2f}s/it" if seconds >= 1 or seconds <= 0 else f"{1 / seconds:.2f}it/s"
        sys.stderr.write(f"\r|{'=' * filled}{' ' * (width - filled)}| {step}/{steps} - {rate}")
        if step >= steps:
            sys.stderr.write("\n")
        sys.stderr.flush()


def _run_generation(args: argparse.Namespace, model: str) -> Path:
    output = Path(args.output)
    if not output.parent.is_dir():
        raise SdcppError(f"output directory does not exist: {output.parent}")
    seed = args.seed if args.seed >= 0 else -1
    started = time.perf_counter()
    with Context(model, vae=args.vae, threads=args.threads) as context:
        result = context.generate(
            args.prompt, args.negative_prompt, width=args.width, height=args.height,
            steps=args.steps, cfg_scale=args.cfg_scale, seed=seed,
            sampling_method=args.sampling_method, scheduler=args.scheduler,
            deepcache=args.deepcache, cache_mode=args.cache_mode, cache_options=args.cache_option,
            progress=_ProgressBar(),
        )
    used = result.params
    text = (f"{used['prompt']}\nNegative prompt: {used['negative_prompt']}\n"
            f"Steps: {used['steps']}, CFG scale: {used['cfg_scale']}, Seed: {used['seed']}, "
            f"Size: {used['width']}x{used['height']}, Sampler: {used['sampling_method']}, "
            f"Scheduler: {used['scheduler']}, Version: sdcpp")
    if used["deepcache"]:
        stats = result.cache_stats
        text += f", DeepCache: {used['deepcache']}"
        print(f"DeepCache: {stats.full_evaluations} full, {stats.reused_evaluations} reused model evaluations",
              file=sys.stderr)
    save_png(result.images[0], output, parameters=text)
    print(f"save result image to '{output}' ({time.perf_counter() - started:.2f}s)", file=sys.stderr)
    return output


def _demo(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="sdcpp-cli demo",
                                     description="Make a synthetic SD1.x model (random weights, no download) "
                                     "and generate an image from it.")
    parser.add_argument("-o", "--output", default="./demo.png")
    parser.add_argument("-W", "--width", type=int, default=128)
    parser.add_argument("-H", "--height", type=int, default=128)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    _configure_logging(args.verbose)
    from .testing import ensure_synthetic_model

    print("preparing the synthetic SD1.x model (first run: about a minute)...", file=sys.stderr)
    model = ensure_synthetic_model("sd15", "q8_0")
    full = build_parser().parse_args(["-m", str(model), "-p", "a photograph of an astronaut riding a horse",
                                      "-o", args.output, "-W", str(args.width), "-H", str(args.height),
                                      "--steps", str(args.steps)])
    _run_generation(full, str(model))
    print("(the model has random weights: expect colourful noise, not a picture)", file=sys.stderr)
    return 0


def _configure_logging(verbose: bool) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING,
                        format="[%(levelname)s] %(message)s", stream=sys.stderr)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of sdcpp-cli; returns the process exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv[:1] == ["demo"]:
            return _demo(argv[1:])
        parser = build_parser()
        args = parser.parse_args(argv)
        _configure_logging(args.verbose)
        if not args.model:
            parser.error("the following arguments are required: -m/--model")
        _run_generation(args, args.model)
        return 0
    except SdcppError as error:
        print(f"sdcpp-cli: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nsdcpp-cli: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
