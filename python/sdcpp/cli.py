"""sdcpp-cli: sd-cli's flags, short aliases and defaults, on top of the sdcpp Python API.

    sdcpp-cli -m model.gguf -p "a cat" -o cat.png
    sdcpp-cli -M convert -m model.safetensors --type q4_0 -o model-q4_0.gguf
    sdcpp-cli -M upscale --upscale-model esrgan.pth -i small.png -o big.png
    sdcpp-cli -M metadata --image cat.png
    sdcpp-cli demo            # make a synthetic model and generate from it (no download)

Differences from sd-cli, on purpose: a missing output directory is an error (sd-cli creates it);
every file is written under a temporary name and renamed, so an interrupted run never leaves a
partial image; ``--no-overwrite`` refuses to replace existing files (sd-cli always replaces them,
as sdcpp-cli does by default); video generation (-M vid_gen) is not offered.
"""
from __future__ import annotations

import argparse
import json
import logging
import re
import sys
import time
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np
from PIL import Image

from . import params as P
from .cache import CACHE_MODES
from .errors import InvalidArgument, SdcppError
from .images import check_output_path

MODES = ("img_gen", "vid_gen", "upscale", "convert", "metadata")
# sd-cli's pattern for printf-style frame numbers in -o (examples/cli/main.cpp).
FORMAT_SPECIFIER = re.compile(r"(?:[^%]|^)(?:%%)*(%\d{0,3}d)")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp")


def _size_pair(text: str) -> tuple[int, int]:
    x, sep, y = text.lower().partition("x")
    try:
        return (int(x), int(y if sep else x))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected [X]x[Y], got {text!r}") from None


def _int_list(text: str) -> list[int]:
    try:
        return [int(part) for part in text.strip("[]").split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    """The argument parser: sd-cli's option names, aliases and defaults."""
    parser = argparse.ArgumentParser(
        prog="sdcpp-cli",
        description="Generate images with stable-diffusion.cpp (sd-cli's options; DeepCache via --deepcache). "
        "`sdcpp-cli demo` generates from a synthetic model made on the spot.",
    )
    cli = parser.add_argument_group("CLI options")
    cli.add_argument("-M", "--mode", choices=MODES, default="img_gen", help="run mode (default: img_gen)")
    cli.add_argument("-o", "--output", default=None,
                     help="output path; printf-style %%d patterns number a batch (default: ./output.png; "
                     "./output.gguf in convert mode). An existing file is replaced, as sd-cli does, "
                     "unless --no-overwrite")
    cli.add_argument("--no-overwrite", action="store_true", help="refuse to replace existing output files")
    cli.add_argument("--output-begin-idx", type=int, default=-1, help="first index of numbered outputs (default 0)")
    cli.add_argument("--image", help="path to the image to inspect (metadata mode)")
    cli.add_argument("--metadata-format", choices=("text", "json"), default="text",
                     help="metadata output format (default: text)")
    cli.add_argument("--preview", choices=P.preview_modes(), default="none", help="preview method (default: none)")
    cli.add_argument("--preview-path", default="./preview.png", help="preview image path (default: ./preview.png)")
    cli.add_argument("--preview-interval", type=int, default=1, help="steps between preview updates (default: 1)")
    cli.add_argument("--preview-noisy", action="store_true", help="preview the noisy input instead of the denoised")
    cli.add_argument("--taesd-preview-only", action="store_true",
                     help="use --taesd for previews only, not for the final image")
    cli.add_argument("--canny", action="store_true", help="apply the canny edge preprocessor to the control image")
    cli.add_argument("--convert-name", action="store_true", help="convert tensor names (convert mode)")
    cli.add_argument("-v", "--verbose", action="store_true", help="print the engine's log")

    ctx = parser.add_argument_group("context options")
    ctx.add_argument("-m", "--model", help="path to the full model (GGUF, safetensors or .ckpt)")
    for flag in ("clip_l", "clip_g", "clip_vision", "t5xxl", "llm", "llm_vision"):
        ctx.add_argument(f"--{flag}", help=f"path to the {flag.replace('_', '-')} encoder")
    ctx.add_argument("--diffusion-model", help="path to a standalone diffusion model")
    ctx.add_argument("--high-noise-diffusion-model", help="path to the standalone high-noise diffusion model")
    ctx.add_argument("--vae", help="path to a standalone VAE")
    ctx.add_argument("--taesd", "--tae", dest="taesd", help="path to TAESD (fast, lower-quality decoding)")
    ctx.add_argument("--control-net", help="path to a ControlNet model")
    ctx.add_argument("--embd-dir", help="embeddings directory")
    ctx.add_argument("--lora-model-dir", help="directory of LoRAs named in <lora:name:multiplier> prompt tags")
    ctx.add_argument("--hires-upscalers-dir", help="directory of ESRGAN models named by --hires-upscaler")
    ctx.add_argument("--tensor-type-rules", help='weight type per tensor pattern (e.g. "^vae\\.=f16,model\\.=q8_0")')
    ctx.add_argument("--photo-maker", help="path to a PhotoMaker model")
    ctx.add_argument("--upscale-model", help="path to an ESRGAN model (upscales the results / upscale mode)")
    ctx.add_argument("-t", "--threads", type=int, default=-1, help="threads; <= 0 = physical cores (default: -1)")
    ctx.add_argument("--offload-to-cpu", action="store_true", help="keep weights in RAM, move them to VRAM as needed")
    ctx.add_argument("--mmap", action="store_true", help="memory-map the model")
    ctx.add_argument("--control-net-cpu", action="store_true", help="keep the ControlNet on the CPU")
    ctx.add_argument("--clip-on-cpu", action="store_true", help="keep CLIP on the CPU")
    ctx.add_argument("--vae-on-cpu", action="store_true", help="keep the VAE on the CPU")
    ctx.add_argument("--fa", action="store_true", help="use flash attention")
    ctx.add_argument("--diffusion-fa", action="store_true", help="use flash attention in the diffusion model only")
    ctx.add_argument("--diffusion-conv-direct", action="store_true", help="direct convolutions in the diffusion model")
    ctx.add_argument("--vae-conv-direct", action="store_true", help="direct convolutions in the VAE")
    ctx.add_argument("--circular", action="store_true", help="circular padding on both axes (seamless images)")
    ctx.add_argument("--circularx", action="store_true", help="circular padding on the x axis only")
    ctx.add_argument("--circulary", action="store_true", help="circular padding on the y axis only")
    ctx.add_argument("--force-sdxl-vae-conv-scale", action="store_true", help="force conv scale on the SDXL VAE")
    ctx.add_argument("--max-vram", type=float, default=0.0, help="VRAM budget in GiB for graph splitting (0 = off)")
    ctx.add_argument("--chroma-disable-dit-mask", action="store_true", help="disable the DiT mask for Chroma")
    ctx.add_argument("--chroma-enable-t5-mask", action="store_true", help="enable the T5 mask for Chroma")
    ctx.add_argument("--chroma-t5-mask-pad", type=int, default=1, help="T5 mask pad size for Chroma (default: 1)")
    ctx.add_argument("--qwen-image-zero-cond-t", action="store_true", help="enable zero_cond_t for Qwen-Image")
    ctx.add_argument("--type", choices=P.weight_types(), default=None, metavar="TYPE",
                     help="weight type (f32, f16, q4_0, q8_0, q4_K, ...); default: the file's types")
    ctx.add_argument("--rng", choices=P.rng_types(), default="cuda", help="RNG (default: cuda)")
    ctx.add_argument("--sampler-rng", choices=P.rng_types(), default=None, help="sampler RNG (default: --rng)")
    ctx.add_argument("--prediction", choices=P.predictions(), default=None, help="prediction type override")
    ctx.add_argument("--lora-apply-mode", choices=P.lora_apply_modes(), default="auto",
                     help="how LoRAs are applied (default: auto)")

    gen = parser.add_argument_group("generation options")
    gen.add_argument("-p", "--prompt", default="", help="the prompt to render")
    gen.add_argument("-n", "--negative-prompt", default="", help="the negative prompt (default: '')")
    gen.add_argument("-i", "--init-img", help="path to the init image (img2img; upscale mode input)")
    gen.add_argument("--mask", help="path to the inpainting mask (white = repaint)")
    gen.add_argument("--control-image", help="path to the ControlNet's control image")
    gen.add_argument("--pm-id-images-dir", help="directory of PhotoMaker ID images")
    gen.add_argument("--pm-id-embed-path", help="path to PhotoMaker v2 ID embeddings")
    gen.add_argument("-r", "--ref-image", action="append", default=[], help="reference image (repeatable)")
    gen.add_argument("-W", "--width", type=int, default=None, help="image width (default: 512, or the init image's)")
    gen.add_argument("-H", "--height", type=int, default=None, help="image height (default: 512, or the init image's)")
    gen.add_argument("--steps", type=int, default=P.DEFAULT_STEPS, help="number of sample steps (default: 20)")
    gen.add_argument("--clip-skip", type=int, default=-1, help="CLIP layers to skip (default: -1 = model's)")
    gen.add_argument("-b", "--batch-count", type=int, default=1, help="number of images (default: 1)")
    gen.add_argument("--timestep-shift", type=int, default=0, help="timestep shift for NitroFusion models")
    gen.add_argument("--upscale-repeats", type=int, default=1, help="ESRGAN passes (default: 1)")
    gen.add_argument("--upscale-tile-size", type=int, default=128, help="ESRGAN tile size (default: 128)")
    gen.add_argument("--cfg-scale", type=float, default=P.DEFAULT_CFG_SCALE, help="guidance scale (default: 7.0)")
    gen.add_argument("--img-cfg-scale", type=float, default=None, help="image guidance scale (default: --cfg-scale)")
    gen.add_argument("--guidance", type=float, default=3.5, help="distilled guidance (default: 3.5)")
    gen.add_argument("--slg-scale", type=float, default=0.0, help="skip-layer guidance scale, DiT only (default: 0)")
    gen.add_argument("--skip-layer-start", type=float, default=0.01, help="SLG start (default: 0.01)")
    gen.add_argument("--skip-layer-end", type=float, default=0.2, help="SLG end (default: 0.2)")
    gen.add_argument("--skip-layers", type=_int_list, default=[7, 8, 9], help="SLG layers (default: [7,8,9])")
    gen.add_argument("--eta", type=float, default=None, help="noise multiplier (default: the sampler's)")
    gen.add_argument("--flow-shift", type=float, default=None, help="flow shift (default: auto)")
    gen.add_argument("--strength", type=float, default=P.DEFAULT_STRENGTH, help="img2img strength (default: 0.75)")
    gen.add_argument("--pm-style-strength", type=float, default=20.0, help="PhotoMaker style strength")
    gen.add_argument("--control-strength", type=float, default=0.9, help="ControlNet strength (default: 0.9)")
    gen.add_argument("-s", "--seed", type=int, default=P.DEFAULT_SEED, help="RNG seed; < 0 = random (default: 42)")
    gen.add_argument("--sampling-method", choices=P.sampling_methods(), default=None,
                     help="sampling method (default: euler_a for SD1/2/XL)")
    gen.add_argument("--scheduler", choices=P.schedulers(), default=None, help="sigma scheduler (default: discrete)")
    gen.add_argument("--sigmas", default=None, help='custom sigmas, comma-separated (e.g. "14.61,7.8,3.5,0.0")')
    gen.add_argument("--vae-tiling", action="store_true", help="decode in tiles to save memory")
    gen.add_argument("--vae-tile-size", type=_size_pair, default=None, help="VAE tile size [X]x[Y] (default: 32x32)")
    gen.add_argument("--vae-tile-overlap", type=float, default=0.5, help="VAE tile overlap (default: 0.5)")
    gen.add_argument("--increase-ref-index", action="store_true", help="number reference images from 1")
    gen.add_argument("--disable-auto-resize-ref-image", action="store_true", help="do not resize reference images")
    gen.add_argument("--disable-image-metadata", action="store_true", help="do not write parameters into images")
    gen.add_argument("--hires", action="store_true", help="enable the highres fix")
    gen.add_argument("--hires-upscaler", default="Latent",
                     help="highres-fix upscaler: " + ", ".join(n for n in P.hires_upscalers() if n != "Model")
                     + ", or a model name in --hires-upscalers-dir (default: Latent)")
    gen.add_argument("--hires-scale", type=float, default=2.0, help="highres-fix scale (default: 2.0)")
    gen.add_argument("--hires-width", type=int, default=0, help="highres-fix target width (default: 0 = scale)")
    gen.add_argument("--hires-height", type=int, default=0, help="highres-fix target height (default: 0 = scale)")
    gen.add_argument("--hires-steps", type=int, default=0, help="highres-fix steps (default: 0 = --steps)")
    gen.add_argument("--hires-denoising-strength", type=float, default=0.7, help="highres-fix strength (default: 0.7)")

    cache = parser.add_argument_group("step caches")
    cache.add_argument("--deepcache", metavar="N,D,START,END", default=None,
                       help="DeepCache: interval N, depth D, window [START, END) in model evaluations "
                       "(e.g. 3,0,0,20; trailing parts optional)")
    cache.add_argument("--cache-mode", choices=CACHE_MODES, default=None, help="step cache")
    cache.add_argument("--cache-option", default=None,
                       help="cache options as key=value,... (deepcache: interval, depth, start, end; "
                       "ucache/easycache: threshold, start, end, ...; spectrum: w, m, lam, window, ...)")
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


def output_paths(output: str, count: int, begin_index: int = -1) -> list[Path]:
    """sd-cli's output names: ``%d`` patterns are numbered; otherwise a batch gets ``_<i>`` suffixes."""
    first = max(begin_index, 0)
    path = Path(output)
    suffix = path.suffix if path.suffix.lower() in IMAGE_EXTENSIONS else ".png"
    base = str(path.with_suffix("")) if path.suffix.lower() in IMAGE_EXTENSIONS else output
    if FORMAT_SPECIFIER.search(output):
        names = []
        for index in range(first, first + count):
            name = base + suffix
            while (match := FORMAT_SPECIFIER.search(name)) is not None:
                name = name[:match.start(1)] + (match.group(1) % index) + name[match.end(1):]
            names.append(Path(name))
        return names
    if count == 1:
        return [Path(base + suffix)]
    return [Path(f"{base}_{index}{suffix}") for index in range(first, first + count)]


def _check_outputs(paths: Sequence[Path], overwrite: bool) -> None:
    for path in paths:
        check_output_path(path, overwrite, hint=" (drop --no-overwrite to replace it)")


def _load_image(flag: str, path: Optional[str], size: Optional[tuple[int, int]] = None,
                mode: str = "RGB") -> Optional[np.ndarray]:
    """Read an image file as a uint8 array, resized to ``size`` (width, height) like sd-cli does."""
    if path is None:
        return None
    try:
        with Image.open(path) as image:
            converted = image.convert(mode)
            if size is not None and converted.size != size:
                converted = converted.resize(size, Image.Resampling.NEAREST if mode == "L"
                                             else Image.Resampling.BILINEAR)
            return np.asarray(converted, dtype=np.uint8).copy()
    except FileNotFoundError:
        raise InvalidArgument(f"{flag}: no such file: {path}") from None
    except (OSError, ValueError) as error:
        raise InvalidArgument(f"{flag}: cannot read the image {path} ({error})") from None


def _load_image_dir(flag: str, directory: Optional[str]) -> Optional[list[np.ndarray]]:
    if directory is None:
        return None
    root = Path(directory)
    if not root.is_dir():
        raise InvalidArgument(f"{flag}: not a directory: {directory}")
    files = sorted(p for p in root.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
    return [image for image in (_load_image(flag, str(p)) for p in files) if image is not None]


def _context_options(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "diffusion_model": args.diffusion_model, "high_noise_diffusion_model": args.high_noise_diffusion_model,
        "vae": args.vae, "taesd": args.taesd, "clip_l": args.clip_l, "clip_g": args.clip_g,
        "clip_vision": args.clip_vision, "t5xxl": args.t5xxl, "llm": args.llm, "llm_vision": args.llm_vision,
        "control_net": args.control_net, "photo_maker": args.photo_maker, "embd_dir": args.embd_dir,
        "lora_model_dir": args.lora_model_dir, "tensor_type_rules": args.tensor_type_rules,
        "threads": args.threads if args.threads > 0 else -1, "weight_type": args.type, "rng": args.rng,
        "sampler_rng": args.sampler_rng, "prediction": args.prediction, "lora_apply_mode": args.lora_apply_mode,
        "offload_to_cpu": args.offload_to_cpu, "clip_on_cpu": args.clip_on_cpu, "vae_on_cpu": args.vae_on_cpu,
        "control_net_cpu": args.control_net_cpu, "flash_attn": args.fa, "diffusion_flash_attn": args.diffusion_fa,
        "diffusion_conv_direct": args.diffusion_conv_direct, "vae_conv_direct": args.vae_conv_direct,
        "vae_tiling": args.vae_tiling, "mmap": args.mmap,
        "circular_x": args.circular or args.circularx, "circular_y": args.circular or args.circulary,
        "force_sdxl_vae_conv_scale": args.force_sdxl_vae_conv_scale, "taesd_preview_only": args.taesd_preview_only,
        "max_vram": args.max_vram, "chroma_use_dit_mask": not args.chroma_disable_dit_mask,
        "chroma_use_t5_mask": args.chroma_enable_t5_mask, "chroma_t5_mask_pad": args.chroma_t5_mask_pad,
        "qwen_image_zero_cond_t": args.qwen_image_zero_cond_t,
    }


def _hires_upscaler(args: argparse.Namespace) -> str:
    name = args.hires_upscaler
    if name in P.hires_upscalers() or args.hires_upscalers_dir is None:
        return str(name)
    root = Path(args.hires_upscalers_dir)
    for candidate in (root / name, *(root / (name + ext) for ext in (".pth", ".safetensors", ".gguf", ".pt"))):
        if candidate.is_file():
            return str(candidate)
    raise InvalidArgument(f"--hires-upscaler {name!r}: not a built-in upscaler and not found in {root}")


class _PreviewWriter:
    """Writes the newest preview image to --preview-path (atomically)."""

    def __init__(self, path: str) -> None:
        self.path = Path(path)

    def __call__(self, step: int, images: list[np.ndarray], is_noisy: bool) -> None:
        if images:
            from .images import save_png

            save_png(images[0], self.path)


def _generate(args: argparse.Namespace) -> int:
    from .context import Context

    if not args.model and not args.diffusion_model:
        raise InvalidArgument("the following arguments are required: -m/--model (or --diffusion-model)")
    size = (args.width, args.height) if args.width is not None and args.height is not None else None
    init = _load_image("--init-img", args.init_img, size)
    width = args.width if args.width is not None else (None if init is None else init.shape[1])
    height = args.height if args.height is not None else (None if init is None else init.shape[0])
    resolved = (width or P.DEFAULT_WIDTH, height or P.DEFAULT_HEIGHT)
    mask = _load_image("--mask", args.mask, resolved, mode="L")
    control = _load_image("--control-image", args.control_image, resolved)
    if control is not None and args.canny:
        from .preprocess import canny

        control = canny(control)
    references = [image for image in (_load_image("--ref-image", path) for path in args.ref_image) if image is not None]
    id_images = _load_image_dir("--pm-id-images-dir", args.pm_id_images_dir)
    paths = output_paths(args.output or "./output.png", P.check_int("batch_count", args.batch_count, 1, 1000),
                         args.output_begin_idx)
    _check_outputs(paths, not args.no_overwrite)

    started = time.perf_counter()
    with Context(args.model, **_context_options(args)) as context:
        result = context.generate(
            args.prompt, args.negative_prompt, width=width, height=height, steps=args.steps,
            cfg_scale=args.cfg_scale, img_cfg_scale=args.img_cfg_scale, guidance=args.guidance,
            seed=args.seed if args.seed >= 0 else -1, sampling_method=args.sampling_method,
            scheduler=args.scheduler, eta=args.eta, sigmas=args.sigmas, flow_shift=args.flow_shift,
            timestep_shift=args.timestep_shift, batch_count=args.batch_count, clip_skip=args.clip_skip,
            init_image=init, mask=mask, strength=args.strength, control_image=control,
            control_strength=args.control_strength, ref_images=references or None,
            increase_ref_index=args.increase_ref_index,
            auto_resize_ref_image=not args.disable_auto_resize_ref_image,
            hires=args.hires, hires_upscaler=_hires_upscaler(args), hires_scale=args.hires_scale,
            hires_width=args.hires_width, hires_height=args.hires_height, hires_steps=args.hires_steps,
            hires_denoising_strength=args.hires_denoising_strength, slg_scale=args.slg_scale,
            skip_layers=args.skip_layers, skip_layer_start=args.skip_layer_start,
            skip_layer_end=args.skip_layer_end, pm_id_images=id_images, pm_id_embed_path=args.pm_id_embed_path,
            pm_style_strength=args.pm_style_strength, vae_tile_size=args.vae_tile_size,
            vae_tile_overlap=args.vae_tile_overlap, deepcache=args.deepcache, cache_mode=args.cache_mode,
            cache_options=args.cache_option, progress=_ProgressBar(),
            preview=None if args.preview == "none" else _PreviewWriter(args.preview_path),
            preview_method="proj" if args.preview == "none" else args.preview,
            preview_interval=args.preview_interval, preview_noisy=args.preview_noisy,
        )
    images = list(result.images)
    if args.upscale_model and args.upscale_repeats > 0:
        from .upscale import Upscaler

        with Upscaler(args.upscale_model, threads=args.threads if args.threads > 0 else -1,
                      tile_size=args.upscale_tile_size) as upscaler:
            images = [upscaler.upscale(image, repeats=args.upscale_repeats) for image in images]
    if result.params.get("deepcache"):
        stats = result.cache_stats
        print(f"DeepCache: {stats.full_evaluations} full, {stats.reused_evaluations} reused model evaluations",
              file=sys.stderr)
    from .images import save_png

    for index, (image, path) in enumerate(zip(images, paths)):
        text = None if args.disable_image_metadata else result.parameters_text(index)
        save_png(image, path, text, overwrite=not args.no_overwrite)
        print(f"save result image {index} to '{path}'", file=sys.stderr)
    print(f"{len(images)}/{len(images)} images saved ({time.perf_counter() - started:.2f}s)", file=sys.stderr)
    return 0


def _upscale(args: argparse.Namespace) -> int:
    from .images import save_png
    from .upscale import Upscaler

    if not args.upscale_model:
        raise InvalidArgument("upscale mode needs an upscaler model (--upscale-model)")
    image = _load_image("--init-img", args.init_img)
    if image is None:
        raise InvalidArgument("upscale mode needs an input image (-i/--init-img)")
    (path,) = output_paths(args.output or "./output.png", 1, args.output_begin_idx)
    _check_outputs([path], not args.no_overwrite)
    with Upscaler(args.upscale_model, threads=args.threads if args.threads > 0 else -1,
                  tile_size=args.upscale_tile_size) as upscaler:
        result = upscaler.upscale(image, repeats=max(args.upscale_repeats, 1))
    save_png(result, path, overwrite=not args.no_overwrite)
    print(f"save result image to '{path}'", file=sys.stderr)
    return 0


def _convert(args: argparse.Namespace) -> int:
    from .convert import convert

    if not args.model:
        raise InvalidArgument("convert mode needs the model to convert (-m/--model)")
    output = Path(args.output or "./output.gguf")
    convert(args.model, output, args.type, vae=args.vae, tensor_type_rules=args.tensor_type_rules,
            overwrite=not args.no_overwrite, convert_name=args.convert_name)
    print(f"convert '{args.model}' to '{output}' success", file=sys.stderr)
    return 0


def _metadata(args: argparse.Namespace) -> int:
    from .metadata import read_parameters

    if not args.image:
        raise InvalidArgument("metadata mode needs an image path (--image)")
    parsed = read_parameters(args.image)
    if args.metadata_format == "json":
        print(json.dumps(parsed, indent=2, ensure_ascii=False))
    else:
        for key, value in parsed.items():
            if key not in ("fields", "sdcpp"):
                print(f"{key}: {value}")
    return 0


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
    _generate(full)
    print("(the model has random weights: expect colourful noise, not a picture)", file=sys.stderr)
    return 0


def _configure_logging(verbose: bool) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING,
                        format="[%(levelname)s] %(message)s", stream=sys.stderr)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of sdcpp-cli; returns the process exit status (0 ok, 1 error, 2 usage, 130 Ctrl-C)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv[:1] == ["demo"]:
            return _demo(argv[1:])
        args = build_parser().parse_args(argv)
        _configure_logging(args.verbose)
        if args.mode == "vid_gen":
            raise InvalidArgument("video generation (-M vid_gen) is not offered by sdcpp-cli; use sd-cli")
        handlers = {"img_gen": _generate, "upscale": _upscale, "convert": _convert, "metadata": _metadata}
        return handlers[args.mode](args)
    except SdcppError as error:
        print(f"sdcpp-cli: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nsdcpp-cli: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
