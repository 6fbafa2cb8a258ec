"""Context: one loaded model, kept in memory across generations, closed deterministically."""
from __future__ import annotations

import dataclasses
import inspect
import os
import secrets
from pathlib import Path
from typing import Any, Optional, Union

import numpy as np

from . import _request as R
from . import params as P
from .cache import CacheStats, model_evaluations, read_cache_stats
from ._callbacks import ActiveCall, PreviewCallback, ProgressCallback, active_call, image_to_array
from ._ffi import BACKEND, ffi, lib, to_str
from .errors import (
    GenerationCancelled,
    GenerationError,
    InvalidArgument,
    ModelLoadError,
)
from ._handle import EngineHandle
from .images import ImageLike, save_png, to_pil
from .loras import Lora, extract_prompt_loras
from .metadata import format_parameters
from .model_check import inspect_model
from .request import GenerationRequest, build_request

__all__ = ["Context", "GenerationResult", "ImageLike", "txt2img", "img2img", "img2img_steps", "SEED_RANDOM"]

SEED_RANDOM = R.SEED_RANDOM


@dataclasses.dataclass(frozen=True)
class GenerationResult:
    """The images of one generation and what was used to make them.

    ``images`` holds one image per batch item: uint8 arrays of shape (H, W, 3), or PIL images with
    ``output_format="pil"``. ``seeds`` holds each image's seed (the engine uses seed + i for the
    i-th image of a batch). ``request`` is the :class:`sdcpp.GenerationRequest` with every default
    resolved (the seed drawn for -1, the sampling method, scheduler and eta the engine used, the
    size, vae_tiling): generating it again gives the same images. ``params`` is that request as
    plain data (images as given or not, lists of images as counts), the values as the engine used
    them (the prompt without LoRA tags, every LoRA, the output size, the resolved highres fix) and
    what the Context adds (model file names, rng, ``engine_commit``, ...).
    ``cache_stats`` counts full and DeepCache-reused model evaluations. A result pickles.
    """

    images: list[Any]
    seeds: list[int]
    params: dict[str, Any]
    cache_stats: CacheStats = CacheStats(0, 0)
    request: Optional[GenerationRequest] = None

    def parameters_text(self, index: int = 0) -> str:
        """sd-cli's A1111-style ``parameters`` text for image ``index`` (what PNGs store); its
        JSON block holds the request that makes this image (``seed`` = its seed, ``batch_count``
        1, images left out)."""
        request = None
        if self.request is not None:
            request = {**self.request.to_dict(), "seed": self.seeds[index], "batch_count": 1}
        return format_parameters({**self.params, "seed": self.seeds[index]}, request=request)

    def save(self, path: P.PathLike, index: int = 0, *, metadata: bool = True, overwrite: bool = True) -> Path:
        """Write image ``index`` as a PNG with its parameters text (unless ``metadata=False``).

        The file is written to a temporary name and renamed, so it appears complete or not at all.
        """
        image = self.images[index]
        return save_png(image, path, self.parameters_text(index) if metadata else None, overwrite=overwrite)


_MODEL_PATHS = ("model", "diffusion_model", "high_noise_diffusion_model", "vae", "taesd", "clip_l", "clip_g",
                "clip_vision", "t5xxl", "llm", "llm_vision", "control_net", "photo_maker")
_EMBEDDING_EXTENSIONS = (".gguf", ".safetensors", ".pt")
_FLOAT_TYPES = frozenset({"f32", "f16", "bf16", "f64", "float32", "float16", "bfloat16", "float64"})


class Context(EngineHandle):
    """A loaded Stable Diffusion model.

    Loading takes seconds and gigabytes, so a Context is meant to be reused for many generations.
    Close it with :meth:`close` or use it as a context manager; one generation runs at a time
    per Context (calls from several threads are serialised). Argument names follow sd-cli's
    options (``--clip-on-cpu`` is ``clip_on_cpu``).

    Args:
        model: single-file model (GGUF, safetensors or .ckpt) holding U-Net, VAE and text encoders.
        diffusion_model: a standalone diffusion model file (instead of, or with, ``model``).
        high_noise_diffusion_model: the high-noise diffusion model of two-model video models.
        vae: a separate VAE file that replaces the model's own.
        taesd: a tiny autoencoder (TAESD) used for decoding instead of the VAE.
        clip_l, clip_g, clip_vision, t5xxl, llm, llm_vision: separate text/vision encoder files.
        control_net: a ControlNet model (enables ``control_image`` in :meth:`generate`).
        photo_maker: a PhotoMaker model (enables ``pm_id_images``).
        embd_dir: directory of textual-inversion embeddings (.gguf/.safetensors/.pt), used in
            prompts by file name.
        lora_model_dir: directory where ``<lora:name:multiplier>`` prompt tags are looked up.
        tensor_type_rules: per-tensor weight types, e.g. ``"^vae\\.=f16,model\\.=q8_0"``.
        threads: CPU threads; -1 means the number of physical cores.
        weight_type: run the weights in this type (e.g. ``"q8_0"``); None keeps the file's types.
        rng: the noise generator, ``"cuda"`` (sd-cli's default, matches A1111), ``"cpu"``
            (ComfyUI) or ``"std_default"``.
        sampler_rng: a separate generator for the sampler's noise; None uses ``rng``.
        prediction: force the prediction type (``"eps"``, ``"v"``, ...); None detects it.
        lora_apply_mode: ``"auto"``, ``"immediately"`` or ``"at_runtime"``.
        offload_to_cpu: keep weights in RAM and move them to the GPU when needed.
        clip_on_cpu, vae_on_cpu, control_net_cpu: keep that part on the CPU (GPU builds).
        flash_attn: use flash attention everywhere (sd-cli ``--fa``).
        diffusion_flash_attn: use flash attention in the diffusion model (``--diffusion-fa``,
            ``--no-diffusion-fa``). None (the default) turns it on where the engine's backend is the
            CPU: there ggml's tiled flash attention computes in f32 and makes SD1.x sampler steps
            about 1.6x faster at 512x512 (docs/performance.md); GPU builds keep sd-cli's default (off).
        diffusion_conv_direct, vae_conv_direct: use direct convolutions there.
        vae_tiling: decode in tiles to save memory (default for every generation).
        mmap: memory-map the model file.
        weight_repack: keep the quantized U-Net and VAE matrices in ggml's repacked CPU layout where
            the CPU has kernels for it (q4_0 and the 4-bit K/IQ types on AVX2/AVX-512, q8_0 and q4_0
            with AVX512-VNNI). Faster; off when LoRAs are applied ``"immediately"`` or with PhotoMaker.
        circular_x, circular_y: seamless (wrap-around) images along x / y (``--circular``).
        force_sdxl_vae_conv_scale: force the conv scale of the SDXL VAE.
        taesd_preview_only: use ``taesd`` for previews only, not for the final decode.
        max_vram: GiB budget for graph-split execution on a GPU (0 = no splitting).
        chroma_use_dit_mask, chroma_use_t5_mask, chroma_t5_mask_pad: Chroma model switches.
        qwen_image_zero_cond_t: zero_cond_t for Qwen-Image.
    """

    _free_engine_object = lib.free_sd_ctx
    _kind = "Context"

    def __init__(
        self,
        model: Optional[P.PathLike] = None,
        *,
        diffusion_model: Optional[P.PathLike] = None,
        high_noise_diffusion_model: Optional[P.PathLike] = None,
        vae: Optional[P.PathLike] = None,
        taesd: Optional[P.PathLike] = None,
        clip_l: Optional[P.PathLike] = None,
        clip_g: Optional[P.PathLike] = None,
        clip_vision: Optional[P.PathLike] = None,
        t5xxl: Optional[P.PathLike] = None,
        llm: Optional[P.PathLike] = None,
        llm_vision: Optional[P.PathLike] = None,
        control_net: Optional[P.PathLike] = None,
        photo_maker: Optional[P.PathLike] = None,
        embd_dir: Optional[P.PathLike] = None,
        lora_model_dir: Optional[P.PathLike] = None,
        tensor_type_rules: Optional[str] = None,
        threads: int = -1,
        weight_type: Optional[str] = None,
        rng: str = "cuda",
        sampler_rng: Optional[str] = None,
        prediction: Optional[str] = None,
        lora_apply_mode: str = "auto",
        offload_to_cpu: bool = False,
        clip_on_cpu: bool = False,
        vae_on_cpu: bool = False,
        control_net_cpu: bool = False,
        flash_attn: bool = False,
        diffusion_flash_attn: Optional[bool] = None,
        diffusion_conv_direct: bool = False,
        vae_conv_direct: bool = False,
        vae_tiling: bool = False,
        mmap: bool = False,
        weight_repack: bool = True,
        circular_x: bool = False,
        circular_y: bool = False,
        force_sdxl_vae_conv_scale: bool = False,
        taesd_preview_only: bool = False,
        max_vram: float = 0.0,
        chroma_use_dit_mask: bool = True,
        chroma_use_t5_mask: bool = False,
        chroma_t5_mask_pad: int = 1,
        qwen_image_zero_cond_t: bool = False,
    ) -> None:
        super().__init__()
        self._current: Optional[ActiveCall] = None
        if model is None and diffusion_model is None:
            raise InvalidArgument("give a model file (model=...) or a diffusion model (diffusion_model=...)")
        given = {"model": model, "diffusion_model": diffusion_model,
                 "high_noise_diffusion_model": high_noise_diffusion_model, "vae": vae, "taesd": taesd,
                 "clip_l": clip_l, "clip_g": clip_g, "clip_vision": clip_vision, "t5xxl": t5xxl, "llm": llm,
                 "llm_vision": llm_vision, "control_net": control_net, "photo_maker": photo_maker}
        if diffusion_flash_attn is None:
            diffusion_flash_attn = BACKEND == "cpu"
        flags = {"offload_to_cpu": offload_to_cpu, "clip_on_cpu": clip_on_cpu, "vae_on_cpu": vae_on_cpu,
                 "control_net_cpu": control_net_cpu, "flash_attn": flash_attn,
                 "diffusion_flash_attn": diffusion_flash_attn, "diffusion_conv_direct": diffusion_conv_direct,
                 "vae_conv_direct": vae_conv_direct, "vae_tiling": vae_tiling, "mmap": mmap,
                 "weight_repack": weight_repack,
                 "circular_x": circular_x, "circular_y": circular_y,
                 "force_sdxl_vae_conv_scale": force_sdxl_vae_conv_scale, "taesd_preview_only": taesd_preview_only,
                 "chroma_use_dit_mask": chroma_use_dit_mask, "chroma_use_t5_mask": chroma_use_t5_mask,
                 "qwen_image_zero_cond_t": qwen_image_zero_cond_t}
        for name, flag in flags.items():
            if not isinstance(flag, bool):
                raise InvalidArgument(f"{name} must be True or False")
        quantized = _check_model_files(given, weight_type)
        strings = P.CStrings()
        c_params = ffi.new("sd_ctx_params_t*")
        lib.sd_ctx_params_init(c_params)
        lora_dir = P.check_dir("lora_model_dir", lora_model_dir)
        _fill_context_params(c_params, strings, given, flags, embd_dir=embd_dir, tensor_type_rules=tensor_type_rules,
                             threads=threads, weight_type=weight_type, rng=rng, sampler_rng=sampler_rng,
                             prediction=prediction, lora_apply_mode=lora_apply_mode, max_vram=max_vram,
                             chroma_t5_mask_pad=chroma_t5_mask_pad)
        self._vae_tiling = vae_tiling
        self._lora_model_dir = None if lora_dir is None else os.fsdecode(lora_dir)
        self._has_control_net = control_net is not None
        # ggml asserts (aborting the process) when a LoRA is merged into quantized weights.
        self._loras_would_abort = lora_apply_mode == "immediately" and quantized
        self._has_photo_maker = photo_maker is not None
        self.threads = int(c_params.n_threads)
        """The number of CPU threads the engine uses."""
        self.rng = rng
        """The noise generator's name."""
        self.model_paths = {name: os.fspath(value) for name, value in given.items() if value is not None}
        """The model files this Context loaded, by argument name."""

        call = ActiveCall()
        with active_call(call):
            ptr = lib.new_sd_ctx(c_params)
        if call.error is not None:
            if ptr != ffi.NULL:
                lib.free_sd_ctx(ptr)
            raise call.error
        if ptr == ffi.NULL:
            raise ModelLoadError("the engine could not load the model", call.engine_log)
        self._ptr = ptr

    # -- lifetime -------------------------------------------------------------------------------

    def _before_close(self) -> None:
        # A generation running in another thread is cancelled first, then close() waits for it.
        current = self._current
        if current is not None:
            current.cancel()

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"threads={self.threads}"
        return f"<sdcpp.Context {', '.join(f'{k}={v!r}' for k, v in self.model_paths.items())} {state}>"

    # -- generation ------------------------------------------------------------------------------

    def cancel(self) -> None:
        """Stop the generation running on this Context (from any thread).

        The generation raises :class:`GenerationCancelled` within one sampling step and the
        Context stays usable.
        """
        current = self._current
        if current is not None:
            current.cancel()

    @property
    def deepcache_max_depth(self) -> Optional[int]:
        """The largest DeepCache depth this model allows (11 for SD1.x/SD2.x, 8 for SDXL), or
        None when the diffusion model is not a U-Net (DeepCache then does nothing)."""
        depth = int(lib.sd_deepcache_max_depth(self._require_open()))
        return None if depth < 0 else depth

    def default_sampling_method(self) -> str:
        """The sampling method the engine picks for this model when none is given."""
        return P.sampling_methods()[int(lib.sd_get_default_sample_method(self._require_open()))]

    def generate(
        self,
        prompt: Union[str, GenerationRequest] = "",
        negative_prompt: Optional[str] = None,
        *,
        progress: Optional[ProgressCallback] = None,
        preview: Optional[PreviewCallback] = None,
        **settings: Any,
    ) -> GenerationResult:
        """Generate images from a :class:`sdcpp.GenerationRequest` or from its fields as keywords.

        ``ctx.generate(request)``, ``ctx.generate("a cat", "blurry", steps=25)`` and
        ``ctx.generate(request, seed=7)`` (a changed copy of the request) all work: the keyword
        names and defaults are the request's fields, which are sd-cli's options
        (``--cfg-scale`` is ``cfg_scale``; see :class:`sdcpp.GenerationRequest` for each).

        Args:
            prompt: the request, or its ``prompt`` (``<lora:name:multiplier>`` tags load LoRAs
                from ``lora_model_dir``).
            negative_prompt: the request's ``negative_prompt`` (None: keep the request's, or "").
            progress: called as ``progress(step, steps, seconds_per_step)``; raising cancels.
            preview: called as ``preview(step, images, is_noisy)`` with intermediate images
                (``preview_method``, ``preview_interval`` and ``preview_noisy`` set how).
            **settings: any other field of :class:`sdcpp.GenerationRequest` (``steps``, ``seed``,
                ``init_image``, ``deepcache``, ...).

        Returns:
            The images with ``params``, ``request`` (every default resolved: the seed drawn, the
            sampling method, scheduler and eta the engine used) and ``cache_stats``.

        Raises:
            InvalidArgument: a bad setting (before any engine call).
            GenerationCancelled: :meth:`cancel` was called.
            GenerationError: the engine failed; the message carries its log.
        """
        request = build_request(prompt, negative_prompt, settings)
        for name, callback in (("progress", progress), ("preview", preview)):
            if callback is not None and not callable(callback):
                raise InvalidArgument(f"{name} must be callable")
        engine_prompt, loras = self._prompt_and_loras(request)
        with self._lock:
            ptr = self._require_open()
            resolved = self._resolve(ptr, request)
            if resolved.init_image is not None and resolved.strength == 0.0 and not resolved.hires:
                # Strength 0 means "change nothing". The engine would still run one step at its
                # smallest sigma and round-trip the VAE; return the init image itself instead.
                images = [np.array(resolved.init_image) for _ in range(resolved.batch_count)]
                stats = CacheStats(0, 0)
            else:
                c_params, keep_alive = R.engine_params(resolved, engine_prompt, loras)
                images = self._run(ptr, c_params, resolved, progress, preview)
                del keep_alive
                stats = read_cache_stats(ptr)
        return self._result(resolved, engine_prompt, loras, images, stats)

    def _prompt_and_loras(self, request: GenerationRequest) -> tuple[str, list[Lora]]:
        """The prompt without its LoRA tags and every LoRA (tags, then the list); refuses inputs
        this Context cannot use."""
        clean_prompt, prompt_loras = extract_prompt_loras(request.prompt, self._lora_model_dir)
        loras = prompt_loras + list(request._checked.loras)
        if loras and self._loras_would_abort:
            raise InvalidArgument("LoRAs cannot be merged into quantized weights (lora_apply_mode='immediately' "
                                  "makes the engine abort): load the Context with lora_apply_mode='auto' or "
                                  "'at_runtime'")
        if request.control_image is not None and not self._has_control_net:
            raise InvalidArgument("control_image needs a ControlNet: load the Context with control_net=...")
        if (request.pm_id_images or request.pm_id_embed_path is not None) and not self._has_photo_maker:
            raise InvalidArgument("pm_id_images needs a PhotoMaker model: load the Context with photo_maker=...")
        return (clean_prompt if prompt_loras else request.prompt), loras

    def _resolve(self, ptr: Any, request: GenerationRequest) -> GenerationRequest:
        """The request with every default the engine would pick made explicit (same images)."""
        checked = request._checked
        method = checked.sampling_method
        if method is None:
            method = int(lib.sd_get_default_sample_method(ptr))
        scheduler = checked.scheduler
        if scheduler is None:
            scheduler = int(lib.sd_get_default_scheduler(ptr, method))
        method_name = P.sampling_methods()[method]
        if checked.deepcache is not None:
            sampled = request.steps if checked.sigmas is None else len(checked.sigmas) - 1
            if request.init_image is not None:
                sampled = img2img_steps(sampled, request.strength)
            checked.deepcache.validate_for(int(lib.sd_deepcache_max_depth(ptr)),
                                           model_evaluations(method_name, sampled))
        seed = request.seed
        if seed == SEED_RANDOM:
            seed = secrets.randbelow(R.MAX_SEED - request.batch_count)
        return request.replace(
            seed=seed, sampling_method=method_name, scheduler=P.schedulers()[scheduler],
            eta=R.default_eta(method_name) if request.eta is None else request.eta,
            vae_tiling=self._vae_tiling if request.vae_tiling is None else request.vae_tiling,
            width=checked.width, height=checked.height)

    def _result(self, request: GenerationRequest, prompt: str, loras: list[Lora], images: list[np.ndarray],
                stats: CacheStats) -> GenerationResult:
        # The engine renders at a size rounded up to what the model needs (a multiple of 64 for
        # SD U-Nets); hand back the size that was asked for, cut from the centre.
        width, height = R.output_size(request)
        arrays = R.crop_to(images, height, width)
        outputs: list[Any] = arrays if request.output_format == "numpy" else [to_pil(image) for image in arrays]
        facts = {"rng": self.rng,
                 "models": {name: os.path.basename(path) for name, path in self.model_paths.items()},
                 "version": f"sdcpp {_version()}", "generator": _generator(),
                 "engine_commit": to_str(lib.sd_commit())}
        return GenerationResult(images=outputs, seeds=[request.seed + i for i in range(request.batch_count)],
                                params=R.result_params(request, prompt, loras, facts), cache_stats=stats,
                                request=request)

    def txt2img(self, prompt: Union[str, GenerationRequest], negative_prompt: Optional[str] = None,
                **options: Any) -> Any:
        """Generate from text: one image (a uint8 (H, W, 3) array, or PIL with
        ``output_format="pil"``), or a list of them when ``batch_count`` > 1.

        Takes the keyword arguments of :meth:`generate`.
        """
        result = self.generate(prompt, negative_prompt, **options)
        return result.images[0] if len(result.images) == 1 else result.images

    def img2img(self, init_image: ImageLike, prompt: Union[str, GenerationRequest],
                negative_prompt: Optional[str] = None, *, strength: Optional[float] = None, **options: Any) -> Any:
        """Generate from an image and text (``mask=`` for inpainting); returns like :meth:`txt2img`.

        Takes the keyword arguments of :meth:`generate`; ``strength`` defaults to the request's
        (0.75, sd-cli's default).
        """
        if strength is not None:
            options["strength"] = strength
        result = self.generate(prompt, negative_prompt, init_image=init_image, **options)
        return result.images[0] if len(result.images) == 1 else result.images

    def _run(
        self,
        ptr: Any,
        c_params: Any,
        request: GenerationRequest,
        progress: Optional[ProgressCallback],
        preview: Optional[PreviewCallback],
    ) -> list[np.ndarray]:
        mode, interval, noisy = request._checked.preview_mode, request.preview_interval, request.preview_noisy
        batch_count = request.batch_count
        if preview is not None and interval > 1:
            # The engine stores the preview interval but never reads it (sd-cli's
            # --preview-interval does nothing in this release): apply it here.
            every_step = preview

            def preview(step: int, images: list[np.ndarray], is_noisy: bool) -> None:
                if step % interval == 0:
                    every_step(step, images, is_noisy)

        call = ActiveCall(ptr, progress, preview)
        if preview is not None:
            lib.sd_set_preview_callback(lib._sdcpp_on_preview, mode, interval, not noisy, noisy, ffi.NULL)
        self._current = call
        try:
            with active_call(call):
                result = lib.generate_image(ptr, c_params)  # cffi releases the GIL here
        finally:
            self._current = None
            if preview is not None:
                lib.sd_set_preview_callback(ffi.NULL, lib.PREVIEW_NONE, 1, False, False, ffi.NULL)
        images = _take_images(result, batch_count)
        if call.error is not None:
            # An exception raised in a callback (KeyboardInterrupt included) stopped the
            # generation: re-raise it as it was.
            raise call.error
        if call.cancel_requested:
            raise GenerationCancelled("generation cancelled")
        if result == ffi.NULL or len(images) != batch_count:
            raise GenerationError("the engine failed to generate an image", call.engine_log)
        return images


# Context switches -> the sd_ctx_params_t fields they set (diffusion_flash_attn: see below).
_FLAG_FIELDS = {
    "offload_to_cpu": "offload_params_to_cpu", "clip_on_cpu": "keep_clip_on_cpu", "vae_on_cpu": "keep_vae_on_cpu",
    "control_net_cpu": "keep_control_net_on_cpu", "flash_attn": "flash_attn",
    "diffusion_conv_direct": "diffusion_conv_direct", "vae_conv_direct": "vae_conv_direct", "mmap": "enable_mmap",
    "weight_repack": "weight_repack",
    "circular_x": "circular_x", "circular_y": "circular_y", "force_sdxl_vae_conv_scale": "force_sdxl_vae_conv_scale",
    "taesd_preview_only": "tae_preview_only", "chroma_use_dit_mask": "chroma_use_dit_mask",
    "chroma_use_t5_mask": "chroma_use_t5_mask", "qwen_image_zero_cond_t": "qwen_image_zero_cond_t",
}


def _check_model_files(given: dict[str, Optional[P.PathLike]], weight_type: Optional[str]) -> bool:
    """Check every model file (refusing malformed ones); True when the weights run quantized."""
    for name, value in given.items():
        P.check_file(name, value)
    quantized = False
    for name, value in given.items():
        if value is not None:
            info = inspect_model(Path(os.fspath(value)))  # refuses malformed files
            if name in ("model", "diffusion_model"):
                quantized = quantized or any(t.dtype.lower() not in _FLOAT_TYPES for t in info.tensors)
    if weight_type is not None and isinstance(weight_type, str):
        quantized = weight_type.lower() not in _FLOAT_TYPES
    return quantized


def _fill_context_params(c_params: Any, strings: P.CStrings, given: dict[str, Optional[P.PathLike]],
                         flags: dict[str, bool], *, embd_dir: Optional[P.PathLike], tensor_type_rules: Optional[str],
                         threads: int, weight_type: Optional[str], rng: str, sampler_rng: Optional[str],
                         prediction: Optional[str], lora_apply_mode: str, max_vram: float,
                         chroma_t5_mask_pad: int) -> None:
    """Check the Context's remaining options and fill the engine's ``sd_ctx_params_t``."""
    embeddings = _embeddings(P.check_dir("embd_dir", embd_dir), strings)
    rules = None if tensor_type_rules is None else P.check_text("tensor_type_rules", tensor_type_rules)
    n_threads = P.check_int("threads", threads, -1, 1024)
    if n_threads == 0:
        raise InvalidArgument("threads must be positive, or -1 for the number of physical cores")
    c_params.wtype = lib.SD_TYPE_COUNT if weight_type is None else P.weight_type_value(weight_type)
    c_params.rng_type = P.rng_value(rng)
    c_params.sampler_rng_type = lib.RNG_TYPE_COUNT if sampler_rng is None else P.rng_value(sampler_rng)
    c_params.prediction = lib.PREDICTION_COUNT if prediction is None else P.prediction_value(prediction)
    c_params.lora_apply_mode = P.lora_apply_mode_value(lora_apply_mode)
    c_params.max_vram = P.check_float("max_vram", max_vram, 0.0, 1e6)
    c_params.chroma_t5_mask_pad = P.check_int("chroma_t5_mask_pad", chroma_t5_mask_pad, 0, 4096)
    for name in _MODEL_PATHS:
        setattr(c_params, f"{name}_path", strings(P.check_file(name, given[name])))
    c_params.embeddings = embeddings if embeddings is not None else ffi.NULL
    c_params.embedding_count = 0 if embeddings is None else len(embeddings)
    c_params.tensor_type_rules = strings(rules)
    c_params.vae_decode_only = False
    # The engine's default frees the weights after one generation; a Context generates many.
    c_params.free_params_immediately = False
    if n_threads > 0:
        c_params.n_threads = n_threads
    for name, field in _FLAG_FIELDS.items():
        setattr(c_params, field, flags[name])
    c_params.diffusion_flash_attn = flags["flash_attn"] or flags["diffusion_flash_attn"]


def _version() -> str:
    from . import __version__

    return __version__


def _generator() -> dict[str, str]:
    from .info import _build_info

    info = _build_info()
    return {"name": "sdcpp", "version": info["sdcpp"], "engine_version": info["engine_version"],
            "commit": info["engine_commit"], "patch_series": info["patch_series"][:12]}


def _embeddings(directory: Optional[bytes], strings: P.CStrings) -> Any:
    """An ``sd_embedding_t[]`` for the embedding files of ``directory`` (name = file stem), as
    sd-cli builds it; None when there is no directory or no file."""
    if directory is None:
        return None
    files = sorted(path for path in Path(os.fsdecode(directory)).iterdir()
                   if path.is_file() and path.suffix in _EMBEDDING_EXTENSIONS)
    if not files:
        return None
    array = ffi.new("sd_embedding_t[]", len(files))
    strings.keep(array)
    for index, path in enumerate(files):
        array[index].name = strings(path.stem.encode("utf-8"))
        array[index].path = strings(os.fsencode(path))
    return array


def img2img_steps(steps: int, strength: float) -> int:
    """Sampling steps the engine runs for img2img (it keeps int(steps * strength) + 1 sigmas)."""
    if strength >= 1.0:
        return steps
    return min(int(steps * strength), steps - 1) + 1


def _take_images(result: Any, count: int) -> list[np.ndarray]:
    """Copy the engine's images into numpy arrays and free the engine's memory at once."""
    if result == ffi.NULL:
        return []
    images = []
    try:
        for index in range(count):
            image = result[index]
            if image.data != ffi.NULL:
                array = image_to_array(image)
                images.append(array[:, :, :3] if array.shape[2] >= 3 else np.repeat(array, 3, axis=2))
    finally:
        for index in range(count):
            if result[index].data != ffi.NULL:
                lib.free(result[index].data)
        lib.free(result)
    return images


_CONTEXT_OPTIONS = frozenset(name for name in inspect.signature(Context.__init__).parameters
                             if name not in ("self", "model"))


def _split_options(options: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    context_options = {key: options.pop(key) for key in list(options) if key in _CONTEXT_OPTIONS}
    return context_options, options


def txt2img(model: P.PathLike, prompt: str, negative_prompt: str = "", **options: Any) -> Any:
    """Load ``model``, generate from ``prompt``, close the model, return the image(s).

    A convenience for one-off use; keep a :class:`Context` to generate more than once.
    Keyword arguments are those of :class:`Context` (``vae``, ``threads``, ...) and of
    :meth:`Context.generate`.
    """
    context_options, generate_options = _split_options(dict(options))
    with Context(model, **context_options) as context:
        return context.txt2img(prompt, negative_prompt, **generate_options)


def img2img(model: P.PathLike, init_image: ImageLike, prompt: str, negative_prompt: str = "",
            **options: Any) -> Any:
    """Load ``model``, generate from ``init_image`` and ``prompt``, close the model, return the image(s).

    Keyword arguments are those of :class:`Context` and of :meth:`Context.generate`.
    """
    context_options, generate_options = _split_options(dict(options))
    with Context(model, **context_options) as context:
        return context.img2img(init_image, prompt, negative_prompt, **generate_options)
