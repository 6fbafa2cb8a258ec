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
import dataclasses
import json
import logging
import re
import sys
import time
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import numpy as np
from PIL import Image

from . import params as P
from .cache import CACHE_MODES
from .errors import InvalidArgument, SdcppError
from .images import check_output_path
from .request import GenerationRequest

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


_DEFAULTS = {field.name: field.default for field in dataclasses.fields(GenerationRequest) if field.init}
_FROM_FIELD = object()


@dataclasses.dataclass(frozen=True)
class RequestFlag:
    """One sd-cli flag and the :class:`sdcpp.GenerationRequest` field it sets.

    The default is the field's (``cli_default`` where sd-cli's differs); ``switch`` flags take no
    value (``invert``: the flag sets the field to False); ``convert(value, args)`` turns the
    parsed value into the field's (a path into an image, ...).
    """

    flags: tuple[str, ...]
    field: str
    help: str
    type: Optional[Callable[[str], Any]] = None
    choices: Optional[Sequence[str]] = None
    switch: bool = False
    invert: bool = False
    repeat: bool = False
    metavar: Optional[str] = None
    cli_default: Any = _FROM_FIELD
    convert: Optional[Callable[[Any, argparse.Namespace], Any]] = None

    @property
    def default(self) -> Any:
        """The flag's default: sd-cli's, which is the field's unless ``cli_default`` says otherwise."""
        return _DEFAULTS[self.field] if self.cli_default is _FROM_FIELD else self.cli_default

    def add_to(self, group: Any) -> None:
        """Add the flag to an argparse parser or group."""
        if self.switch:
            group.add_argument(*self.flags, dest=self.field, action="store_false" if self.invert else "store_true",
                               help=self.help)
            return
        shown = self.default
        suffix = f" (default: {shown})" if shown not in (None, "", ()) and "default:" not in self.help else ""
        metavar = self.metavar or self.flags[-1].lstrip("-").replace("-", "_").upper()
        group.add_argument(*self.flags, dest=self.field, type=self.type, choices=self.choices,
                           action="append" if self.repeat else "store",
                           metavar=None if self.choices is not None else metavar,
                           default=[] if self.repeat else self.default, help=self.help + suffix)

    def value(self, args: argparse.Namespace) -> Any:
        """The field's value for the parsed command line."""
        raw = getattr(args, self.field)
        return raw if self.convert is None else self.convert(raw, args)


def _image_size(args: argparse.Namespace) -> Optional[tuple[int, int]]:
    return (args.width, args.height) if args.width is not None and args.height is not None else None


def _init_image(path: Optional[str], args: argparse.Namespace) -> Optional[np.ndarray]:
    return _load_image("--init-img", path, _image_size(args))


def _resolved_size(args: argparse.Namespace) -> tuple[int, int]:
    """The size the generation will have: -W/-H, else the init image's, else 512x512."""
    size = _image_size(args)
    if size is not None:
        return size
    init = _init_image(args.init_image, args) if args.init_image else None
    width = args.width if args.width is not None else (None if init is None else init.shape[1])
    height = args.height if args.height is not None else (None if init is None else init.shape[0])
    return (width or P.DEFAULT_WIDTH, height or P.DEFAULT_HEIGHT)


def _mask(path: Optional[str], args: argparse.Namespace) -> Optional[np.ndarray]:
    return None if path is None else _load_image("--mask", path, _resolved_size(args), mode="L")


def _control_image(path: Optional[str], args: argparse.Namespace) -> Optional[np.ndarray]:
    control = None if path is None else _load_image("--control-image", path, _resolved_size(args))
    if control is not None and args.canny:
        from .preprocess import canny

        control = canny(control)
    return control


def _ref_images(paths: list[str], args: argparse.Namespace) -> list[np.ndarray]:
    return [image for image in (_load_image("--ref-image", path) for path in paths) if image is not None]


def _hires_upscaler(name: str, args: argparse.Namespace) -> str:
    if name in P.hires_upscalers() or args.hires_upscalers_dir is None:
        return str(name)
    root = Path(args.hires_upscalers_dir)
    for candidate in (root / name, *(root / (name + ext) for ext in (".pth", ".safetensors", ".gguf", ".pt"))):
        if candidate.is_file():
            return str(candidate)
    raise InvalidArgument(f"--hires-upscaler {name!r}: not a built-in upscaler and not found in {root}")


# sd-cli's generation flags, one row per GenerationRequest field they set (examples/common/common.cpp).
REQUEST_FLAGS: tuple[RequestFlag, ...] = (
    RequestFlag(("-p", "--prompt"), "prompt", "the prompt to render"),
    RequestFlag(("-n", "--negative-prompt"), "negative_prompt", "the negative prompt (default: '')"),
    RequestFlag(("-i", "--init-img"), "init_image", "path to the init image (img2img; upscale mode input)",
                convert=_init_image),
    RequestFlag(("--mask",), "mask", "path to the inpainting mask (white = repaint)", convert=_mask),
    RequestFlag(("--control-image",), "control_image", "path to the ControlNet's control image",
                convert=_control_image),
    RequestFlag(("--pm-id-images-dir",), "pm_id_images", "directory of PhotoMaker ID images", cli_default=None,
                convert=lambda path, args: _load_image_dir("--pm-id-images-dir", path)),
    RequestFlag(("--pm-id-embed-path",), "pm_id_embed_path", "path to PhotoMaker v2 ID embeddings"),
    RequestFlag(("-r", "--ref-image"), "ref_images", "reference image (repeatable)", repeat=True,
                convert=_ref_images),
    RequestFlag(("-W", "--width"), "width", "image width (default: 512, or the init image's)", int),
    RequestFlag(("-H", "--height"), "height", "image height (default: 512, or the init image's)", int),
    RequestFlag(("--steps",), "steps", "number of sample steps", int),
    RequestFlag(("--clip-skip",), "clip_skip", "CLIP layers to skip (-1 = the model's)", int),
    RequestFlag(("-b", "--batch-count"), "batch_count", "number of images", int),
    RequestFlag(("--timestep-shift",), "timestep_shift", "timestep shift for NitroFusion models", int),
    RequestFlag(("--cfg-scale",), "cfg_scale", "guidance scale", float),
    RequestFlag(("--img-cfg-scale",), "img_cfg_scale", "image guidance scale (default: --cfg-scale)", float),
    RequestFlag(("--guidance",), "guidance", "distilled guidance", float),
    RequestFlag(("--slg-scale",), "slg_scale", "skip-layer guidance scale, DiT only", float),
    RequestFlag(("--skip-layer-start",), "skip_layer_start", "SLG start", float),
    RequestFlag(("--skip-layer-end",), "skip_layer_end", "SLG end", float),
    RequestFlag(("--skip-layers",), "skip_layers", "SLG layers (default: [7,8,9])", _int_list),
    RequestFlag(("--eta",), "eta", "noise multiplier (default: the sampler's)", float),
    RequestFlag(("--flow-shift",), "flow_shift", "flow shift (default: auto)", float),
    RequestFlag(("--strength",), "strength", "img2img strength", float),
    RequestFlag(("--pm-style-strength",), "pm_style_strength", "PhotoMaker style strength", float),
    RequestFlag(("--control-strength",), "control_strength", "ControlNet strength", float),
    RequestFlag(("-s", "--seed"), "seed", "RNG seed; < 0 = random", int,
                convert=lambda seed, args: seed if seed >= 0 else -1),
    RequestFlag(("--sampling-method",), "sampling_method", "sampling method (default: euler_a for SD1/2/XL)",
                choices=P.sampling_methods()),
    RequestFlag(("--scheduler",), "scheduler", "sigma scheduler (default: discrete)", choices=P.schedulers()),
    RequestFlag(("--sigmas",), "sigmas", 'custom sigmas, comma-separated (e.g. "14.61,7.8,3.5,0.0")'),
    RequestFlag(("--vae-tiling",), "vae_tiling", "decode in tiles to save memory", switch=True,
                convert=lambda on, args: True if on else None),
    RequestFlag(("--vae-tile-size",), "vae_tile_size", "VAE tile size [X]x[Y] (default: 32x32)", _size_pair),
    RequestFlag(("--vae-tile-overlap",), "vae_tile_overlap", "VAE tile overlap", float),
    RequestFlag(("--increase-ref-index",), "increase_ref_index", "number reference images from 1", switch=True),
    RequestFlag(("--disable-auto-resize-ref-image",), "auto_resize_ref_image", "do not resize reference images",
                switch=True, invert=True),
    RequestFlag(("--hires",), "hires", "enable the highres fix", switch=True),
    RequestFlag(("--hires-upscaler",), "hires_upscaler",
                "highres-fix upscaler: " + ", ".join(n for n in P.hires_upscalers() if n != "Model")
                + ", or a model name in --hires-upscalers-dir", convert=_hires_upscaler),
    RequestFlag(("--hires-scale",), "hires_scale", "highres-fix scale", float),
    RequestFlag(("--hires-width",), "hires_width", "highres-fix target width (0 = from the scale)", int),
    RequestFlag(("--hires-height",), "hires_height", "highres-fix target height (0 = from the scale)", int),
    RequestFlag(("--hires-steps",), "hires_steps", "highres-fix steps (0 = --steps)", int),
    RequestFlag(("--hires-denoising-strength",), "hires_denoising_strength", "highres-fix strength", float),
    RequestFlag(("--deepcache",), "deepcache", "DeepCache: interval N, depth D, window [START, END) in model "
                "evaluations (e.g. 3,0,0,20; trailing parts optional)", metavar="N,D,START,END"),
    RequestFlag(("--cache-mode",), "cache_mode", "step cache", choices=CACHE_MODES),
    RequestFlag(("--cache-option",), "cache_options", "cache options as key=value,... (deepcache: interval, "
                "depth, start, end; ucache/easycache: threshold, start, end, ...; spectrum: w, m, lam, window, ...)"),
    RequestFlag(("--preview",), "preview_method", "preview method", choices=P.preview_modes(), cli_default="none"),
    RequestFlag(("--preview-interval",), "preview_interval", "steps between preview updates", int),
    RequestFlag(("--preview-noisy",), "preview_noisy", "preview the noisy input instead of the denoised",
                switch=True),
)


def request_from_args(args: argparse.Namespace) -> GenerationRequest:
    """The :class:`sdcpp.GenerationRequest` of a parsed command line (images read from their files)."""
    return GenerationRequest(**{flag.field: flag.value(args) for flag in REQUEST_FLAGS})


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
    cli.add_argument("--preview-path", default="./preview.png", help="preview image path (default: ./preview.png)")
    cli.add_argument("--dump-request", action="store_true",
                     help="print the generation request of this command line as JSON (images as base64 PNG) "
                     "and exit, without loading a model")
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
    ctx.add_argument("--no-weight-repack", action="store_true",
                     help="keep quantized weights in the plain layout (default: repack q4_0, q8_0 with AVX512-VNNI, etc. for the CPU's kernels)")
    ctx.add_argument("--control-net-cpu", action="store_true", help="keep the ControlNet on the CPU")
    ctx.add_argument("--clip-on-cpu", action="store_true", help="keep CLIP on the CPU")
    ctx.add_argument("--vae-on-cpu", action="store_true", help="keep the VAE on the CPU")
    ctx.add_argument("--fa", action="store_true", help="use flash attention")
    diffusion_fa = ctx.add_mutually_exclusive_group()
    diffusion_fa.add_argument("--diffusion-fa", action="store_true", default=None,
                              help="use flash attention in the diffusion model (default: on for CPU builds)")
    diffusion_fa.add_argument("--no-diffusion-fa", dest="diffusion_fa", action="store_false",
                              help="the diffusion model's plain attention (default on GPU builds)")
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
    gen.add_argument("--upscale-repeats", type=int, default=1, help="ESRGAN passes (default: 1)")
    gen.add_argument("--upscale-tile-size", type=int, default=128, help="ESRGAN tile size (default: 128)")
    gen.add_argument("--disable-image-metadata", action="store_true", help="do not write parameters into images")
    for request_flag in REQUEST_FLAGS:
        request_flag.add_to(gen)
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
        "mmap": args.mmap, "weight_repack": not args.no_weight_repack,
        "circular_x": args.circular or args.circularx, "circular_y": args.circular or args.circulary,
        "force_sdxl_vae_conv_scale": args.force_sdxl_vae_conv_scale, "taesd_preview_only": args.taesd_preview_only,
        "max_vram": args.max_vram, "chroma_use_dit_mask": not args.chroma_disable_dit_mask,
        "chroma_use_t5_mask": args.chroma_enable_t5_mask, "chroma_t5_mask_pad": args.chroma_t5_mask_pad,
        "qwen_image_zero_cond_t": args.qwen_image_zero_cond_t,
    }


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

    request = request_from_args(args)
    if args.dump_request:
        print(json.dumps(request.to_dict(images="base64"), indent=2))
        return 0
    if not args.model and not args.diffusion_model:
        raise InvalidArgument("the following arguments are required: -m/--model (or --diffusion-model)")
    paths = output_paths(args.output or "./output.png", request.batch_count, args.output_begin_idx)
    _check_outputs(paths, not args.no_overwrite)

    started = time.perf_counter()
    with Context(args.model, **_context_options(args)) as context:
        preview = None if request.preview_method == "none" else _PreviewWriter(args.preview_path)
        result = context.generate(request, progress=_ProgressBar(), preview=preview)
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
    image = _load_image("--init-img", args.init_image)
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
