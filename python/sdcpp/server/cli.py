"""``sdcpp-server``: command-line flags -> :class:`ServerSettings`, then serve with uvicorn.

Model and context flags are sdcpp-cli's (``-m``, ``--vae``, ``--lora-model-dir``, ``-t``, ...);
``-l/--listen-ip`` and ``--listen-port`` are sd-server's. Ctrl-C or SIGTERM cancels the running
job, finishes the open requests and exits with status 0.
"""
from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from types import FrameType
from typing import Any, Callable, Optional, Sequence

import sdcpp

from .settings import GenerationDefaults, ServerSettings, startup_warnings

API_KEY_ENV = "SDCPP_SERVER_API_KEY"

# sdcpp-cli's file and directory flags -> Context keyword.
_PATH_FLAGS = {
    "--diffusion-model": "diffusion_model", "--high-noise-diffusion-model": "high_noise_diffusion_model",
    "--vae": "vae", "--taesd": "taesd", "--clip_l": "clip_l", "--clip_g": "clip_g", "--clip_vision": "clip_vision",
    "--t5xxl": "t5xxl", "--llm": "llm", "--llm_vision": "llm_vision", "--control-net": "control_net",
    "--photo-maker": "photo_maker", "--embd-dir": "embd_dir", "--lora-model-dir": "lora_model_dir",
    "--tensor-type-rules": "tensor_type_rules",
}
# sdcpp-cli's switches -> Context keyword.
_SWITCHES = {
    "--offload-to-cpu": "offload_to_cpu", "--mmap": "mmap", "--control-net-cpu": "control_net_cpu",
    "--clip-on-cpu": "clip_on_cpu", "--vae-on-cpu": "vae_on_cpu", "--fa": "flash_attn",
    "--diffusion-fa": "diffusion_flash_attn", "--diffusion-conv-direct": "diffusion_conv_direct",
    "--vae-conv-direct": "vae_conv_direct", "--vae-tiling": "vae_tiling",
    "--force-sdxl-vae-conv-scale": "force_sdxl_vae_conv_scale", "--taesd-preview-only": "taesd_preview_only",
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (sdcpp-cli's model/context flags, sd-server's listen flags)."""
    parser = argparse.ArgumentParser(
        prog="sdcpp-server",
        description="Serve one model over the AUTOMATIC1111 and OpenAI image APIs, a jobs API and a web page.")
    server = parser.add_argument_group("server options")
    server.add_argument("-l", "--listen-ip", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    server.add_argument("--listen-port", type=int, default=1234, help="port to listen on (default: 1234)")
    server.add_argument("--api-key", default=os.environ.get(API_KEY_ENV),
                        help=f"require 'Authorization: Bearer KEY' on every request (default: ${API_KEY_ENV})")
    server.add_argument("--cors-origin", action="append", default=[], metavar="ORIGIN",
                        help="allow browser calls from this origin (repeatable; default: CORS off)")
    server.add_argument("--max-queue", type=int, default=16, help="jobs that may wait; one more answers 429 (default: 16)")
    server.add_argument("--max-body-bytes", type=int, default=32 * 1024 * 1024,
                        help="largest request body (default: 32 MiB)")
    server.add_argument("--max-image-pixels", type=int, default=4096 * 4096,
                        help="largest decoded input image, width x height (default: 4096x4096)")
    server.add_argument("--max-output-pixels", type=int, default=2048 * 2048,
                        help="largest image to generate, width x height (default: 2048x2048)")
    server.add_argument("--max-batch", type=int, default=16, help="most images per request (default: 16)")
    server.add_argument("--max-steps", type=int, default=1000, help="most sampling steps per request (default: 1000)")
    server.add_argument("--result-ttl", type=float, default=600.0,
                        help="seconds finished jobs keep their results (default: 600)")
    server.add_argument("--max-result-mb", type=float, default=256.0,
                        help="memory for kept results; the oldest go first (default: 256)")
    server.add_argument("--output-dir", default=None, help="also save every image there as <job id>-<n>.png")
    server.add_argument("-v", "--verbose", action="store_true", help="log the engine and every request")

    ctx = parser.add_argument_group("model and context options (as sdcpp-cli)")
    ctx.add_argument("-m", "--model", help="path to the full model (GGUF, safetensors or .ckpt)")
    ctx.add_argument("--demo", action="store_true",
                     help="serve the synthetic SD1.x model (random weights, made on first use; 128x128, 8 steps)")
    for flag, dest in _PATH_FLAGS.items():
        ctx.add_argument(flag, dest=dest, default=None, help=f"{dest.replace('_', ' ')} path (as sdcpp-cli)")
    ctx.add_argument("--tae", dest="taesd", help=argparse.SUPPRESS)
    ctx.add_argument("-t", "--threads", type=int, default=-1, help="threads; <= 0 = physical cores (default: -1)")
    for flag, dest in _SWITCHES.items():
        ctx.add_argument(flag, dest=dest, action="store_true", help=f"{dest.replace('_', ' ')} (as sdcpp-cli)")
    ctx.add_argument("--no-weight-repack", action="store_true", help="plain weight layout (as sdcpp-cli)")
    ctx.add_argument("--no-diffusion-fa", action="store_true",
                     help="the diffusion model's plain attention (as sdcpp-cli; default: flash attention on CPU builds)")
    ctx.add_argument("--circular", action="store_true", help="seamless images on both axes")
    ctx.add_argument("--circularx", action="store_true", help="seamless along x")
    ctx.add_argument("--circulary", action="store_true", help="seamless along y")
    ctx.add_argument("--type", dest="weight_type", choices=sdcpp.weight_types(), default=None, metavar="TYPE",
                     help="weight type (default: the file's types)")
    ctx.add_argument("--rng", choices=sdcpp.rng_types(), default="cuda", help="RNG (default: cuda)")
    ctx.add_argument("--sampler-rng", choices=sdcpp.rng_types(), default=None, help="sampler RNG (default: --rng)")
    ctx.add_argument("--prediction", choices=sdcpp.predictions(), default=None, help="prediction type override")
    ctx.add_argument("--lora-apply-mode", choices=sdcpp.lora_apply_modes(), default="auto",
                     help="how LoRAs are applied (default: auto)")
    ctx.add_argument("--max-vram", type=float, default=0.0, help="VRAM budget in GiB (0 = off)")

    gen = parser.add_argument_group("generation defaults (used when a request leaves a field out)")
    gen.add_argument("-W", "--width", type=int, default=None, help="image width (default: 512; --demo: 128)")
    gen.add_argument("-H", "--height", type=int, default=None, help="image height (default: 512; --demo: 128)")
    gen.add_argument("--steps", type=int, default=None, help="sampling steps (default: 20; --demo: 8)")
    gen.add_argument("--cfg-scale", type=float, default=7.0, help="guidance scale (default: 7.0)")
    gen.add_argument("-s", "--seed", type=int, default=-1, help="seed; -1 = random (default: -1, as A1111)")
    gen.add_argument("--sampling-method", choices=sdcpp.sampling_methods(), default=None,
                     help="sampling method (default: the model's)")
    gen.add_argument("--scheduler", choices=sdcpp.schedulers(), default=None, help="scheduler (default: the sampler's)")
    gen.add_argument("--clip-skip", type=int, default=-1, help="CLIP layers to skip (default: -1 = model's)")
    gen.add_argument("--deepcache", metavar="N,D,START,END", default=None,
                     help="DeepCache for requests that choose no cache (e.g. 3,0; default: off)")
    return parser


def settings_from_args(args: argparse.Namespace) -> ServerSettings:
    """Validated settings from parsed flags (raises sdcpp.InvalidArgument naming the flag)."""
    if args.demo and args.model is None:
        from sdcpp.testing import ensure_synthetic_model

        print("sdcpp-server: preparing the synthetic SD1.x model (first run: about a minute)...", file=sys.stderr)
        args.model = str(ensure_synthetic_model("sd15", "q8_0"))
    if args.model is None and args.diffusion_model is None:
        raise sdcpp.InvalidArgument("give a model: -m MODEL (or --diffusion-model), or --demo")
    small = 128 if args.demo else None
    width = args.width if args.width is not None else small or 512
    height = args.height if args.height is not None else small or 512
    steps = args.steps if args.steps is not None else (8 if args.demo else 20)
    if not 0 <= args.listen_port <= 65535:
        raise sdcpp.InvalidArgument(f"--listen-port must be 0..65535, got {args.listen_port}")
    for flag in ("max_queue", "max_body_bytes", "max_image_pixels", "max_output_pixels", "max_batch", "max_steps"):
        if getattr(args, flag) < 1:
            raise sdcpp.InvalidArgument(f"--{flag.replace('_', '-')} must be at least 1")
    if args.deepcache is not None:
        sdcpp.DeepCache.parse(args.deepcache)
    context_options: dict[str, Any] = {dest: getattr(args, dest) for dest in _PATH_FLAGS.values()
                                       if getattr(args, dest) is not None}
    context_options.update({dest: True for dest in _SWITCHES.values() if getattr(args, dest)})
    if args.no_diffusion_fa:
        if args.diffusion_flash_attn:
            raise sdcpp.InvalidArgument("give --diffusion-fa or --no-diffusion-fa, not both")
        context_options["diffusion_flash_attn"] = False
    context_options.update({
        "threads": args.threads if args.threads > 0 else -1, "rng": args.rng, "lora_apply_mode": args.lora_apply_mode,
        "circular_x": args.circular or args.circularx, "circular_y": args.circular or args.circulary,
        "weight_repack": not args.no_weight_repack,
    })
    for name in ("weight_type", "sampler_rng", "prediction"):
        if getattr(args, name) is not None:
            context_options[name] = getattr(args, name)
    if args.max_vram:
        context_options["max_vram"] = args.max_vram
    defaults = GenerationDefaults(width=width, height=height, steps=steps, cfg_scale=args.cfg_scale,
                                  seed=args.seed, sampling_method=args.sampling_method, scheduler=args.scheduler,
                                  clip_skip=args.clip_skip, deepcache=args.deepcache)
    return ServerSettings(
        model=args.model, context_options=context_options, listen_ip=args.listen_ip, listen_port=args.listen_port,
        api_key=args.api_key or None, cors_origins=tuple(args.cors_origin), defaults=defaults,
        max_queue=args.max_queue, max_body_bytes=args.max_body_bytes, max_image_pixels=args.max_image_pixels,
        max_output_pixels=args.max_output_pixels, max_batch=args.max_batch, max_steps=args.max_steps,
        result_ttl_s=args.result_ttl, max_result_bytes=int(args.max_result_mb * 1024 * 1024),
        output_dir=args.output_dir)


def _make_server(config: Any, on_signal: Callable[[], None]) -> Any:
    import uvicorn

    class Server(uvicorn.Server):
        """uvicorn's server, but a signal cancels the jobs first and the process exits 0
        (uvicorn would re-raise the signal after shutting down)."""

        def handle_exit(self, sig: int, frame: Optional[FrameType]) -> None:
            on_signal()
            if self.should_exit and sig == signal.SIGINT:
                self.force_exit = True
            else:
                self.should_exit = True

    return Server(config)


def serve(settings: ServerSettings, verbose: bool = False) -> int:
    """Load the model, serve until a signal, return the exit status."""
    import uvicorn

    from .app import create_app, server_state

    for warning in startup_warnings(settings):
        print(f"sdcpp-server: warning: {warning}", file=sys.stderr, flush=True)
    print(f"sdcpp-server: loading {settings.model_name} ...", file=sys.stderr, flush=True)
    context = sdcpp.Context(settings.model, **settings.context_options)
    try:
        app = create_app(settings, context=context)
        state = server_state(app)

        def on_signal() -> None:
            # In a thread: the signal may arrive while this (main) thread holds the queue's lock.
            queue = state.job_queue
            if queue is not None:
                threading.Thread(target=queue.cancel_all, name="sdcpp-server-cancel").start()

        config = uvicorn.Config(app, host=settings.listen_ip, port=settings.listen_port,
                                log_level="info" if verbose else "warning", timeout_graceful_shutdown=30,
                                access_log=verbose)
        server = _make_server(config, on_signal)
        host = f"[{settings.listen_ip}]" if ":" in settings.listen_ip else settings.listen_ip
        print(f"sdcpp-server: serving {settings.model_name} at http://{host}:{settings.listen_port}/ "
              "(Ctrl-C to stop)", file=sys.stderr, flush=True)
        server.run()
        if not server.started:
            return 1
    finally:
        context.close()
    print("sdcpp-server: stopped", file=sys.stderr, flush=True)
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of sdcpp-server; returns the exit status (0 after Ctrl-C/SIGTERM, 1 on error)."""
    args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="[%(levelname)s] %(name)s: %(message)s", stream=sys.stderr)
    try:
        settings = settings_from_args(args)
        return serve(settings, args.verbose)
    except sdcpp.SdcppError as error:
        print(f"sdcpp-server: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # Ctrl-C while the model was loading
        print("\nsdcpp-server: interrupted", file=sys.stderr)
        return 0


if __name__ == "__main__":
    sys.exit(main())
