"""Context: one loaded model, kept in memory across generations, closed deterministically."""
from __future__ import annotations

import dataclasses
import inspect
import os
import secrets
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence, Union

import numpy as np

from . import _request as R
from . import params as P
from .cache import (
    CACHE_MODES,
    UPSTREAM_CACHE_MODES,
    CacheStats,
    DeepCache,
    deepcache_from_options,
    fill_deepcache,
    fill_upstream_cache,
    model_evaluations,
    parse_cache_options,
)
from ._callbacks import ActiveCall, PreviewCallback, ProgressCallback, active_call, image_to_array
from ._ffi import ffi, lib, to_str
from .errors import (
    GenerationCancelled,
    GenerationError,
    InvalidArgument,
    ModelLoadError,
)
from ._handle import EngineHandle
from .images import ImageLike, aligned, check_output_format, save_png, to_pil
from .loras import Lora, LoraSpec, coerce_loras, extract_prompt_loras
from .metadata import format_parameters
from .model_check import inspect_model
from .request import FIELD_NAMES, GenerationRequest, build_request

__all__ = ["Context", "GenerationResult", "ImageLike", "txt2img", "img2img", "img2img_steps", "SEED_RANDOM"]

SEED_RANDOM = -1
_MAX_SEED = 2**63 - 1


@dataclasses.dataclass(frozen=True)
class GenerationResult:
    """The images of one generation and the parameters that were actually used.

    ``images`` holds one image per batch item: uint8 arrays of shape (H, W, 3), or PIL images with
    ``output_format="pil"``. ``seeds`` holds each image's seed (the engine uses seed + i for the
    i-th image of a batch). ``params`` holds every setting that was used, defaults resolved (the
    sampling method and scheduler the engine picked, eta, LoRAs, cache, model file names,
    ``engine_commit``, ...). ``cache_stats`` counts full and DeepCache-reused model evaluations.
    """

    images: list[Any]
    seeds: list[int]
    params: dict[str, Any]
    cache_stats: CacheStats = CacheStats(0, 0)

    def parameters_text(self, index: int = 0) -> str:
        """sd-cli's A1111-style ``parameters`` text for image ``index`` (what PNGs store)."""
        return format_parameters({**self.params, "seed": self.seeds[index]})

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
        diffusion_flash_attn: use flash attention in the diffusion model only (``--diffusion-fa``).
        diffusion_conv_direct, vae_conv_direct: use direct convolutions there.
        vae_tiling: decode in tiles to save memory (default for every generation).
        mmap: memory-map the model file.
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
        diffusion_flash_attn: bool = False,
        diffusion_conv_direct: bool = False,
        vae_conv_direct: bool = False,
        vae_tiling: bool = False,
        mmap: bool = False,
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
        encoded = {name: P.check_file(name, value) for name, value in given.items()}
        quantized = False
        for name, value in given.items():
            if value is not None:
                info = inspect_model(Path(os.fspath(value)))  # refuses malformed files
                if name in ("model", "diffusion_model"):
                    quantized = quantized or any(t.dtype.lower() not in _FLOAT_TYPES for t in info.tensors)
        embd = P.check_dir("embd_dir", embd_dir)
        lora_dir = P.check_dir("lora_model_dir", lora_model_dir)
        rules = None if tensor_type_rules is None else P.check_text("tensor_type_rules", tensor_type_rules)
        n_threads = P.check_int("threads", threads, -1, 1024)
        if n_threads == 0:
            raise InvalidArgument("threads must be positive, or -1 for the number of physical cores")
        wtype = lib.SD_TYPE_COUNT if weight_type is None else P.weight_type_value(weight_type)
        rng_type = P.rng_value(rng)
        sampler_rng_type = lib.RNG_TYPE_COUNT if sampler_rng is None else P.rng_value(sampler_rng)
        prediction_type = lib.PREDICTION_COUNT if prediction is None else P.prediction_value(prediction)
        apply_mode = P.lora_apply_mode_value(lora_apply_mode)
        if weight_type is not None:
            quantized = weight_type.lower() not in _FLOAT_TYPES
        flags = {"offload_to_cpu": offload_to_cpu, "clip_on_cpu": clip_on_cpu, "vae_on_cpu": vae_on_cpu,
                 "control_net_cpu": control_net_cpu, "flash_attn": flash_attn,
                 "diffusion_flash_attn": diffusion_flash_attn, "diffusion_conv_direct": diffusion_conv_direct,
                 "vae_conv_direct": vae_conv_direct, "vae_tiling": vae_tiling, "mmap": mmap,
                 "circular_x": circular_x, "circular_y": circular_y,
                 "force_sdxl_vae_conv_scale": force_sdxl_vae_conv_scale, "taesd_preview_only": taesd_preview_only,
                 "chroma_use_dit_mask": chroma_use_dit_mask, "chroma_use_t5_mask": chroma_use_t5_mask,
                 "qwen_image_zero_cond_t": qwen_image_zero_cond_t}
        vram_budget = P.check_float("max_vram", max_vram, 0.0, 1e6)
        mask_pad = P.check_int("chroma_t5_mask_pad", chroma_t5_mask_pad, 0, 4096)
        for name, flag in flags.items():
            if not isinstance(flag, bool):
                raise InvalidArgument(f"{name} must be True or False")

        strings = P.CStrings()
        c_params = ffi.new("sd_ctx_params_t*")
        lib.sd_ctx_params_init(c_params)
        for name in _MODEL_PATHS:
            setattr(c_params, f"{name}_path", strings(encoded[name]))
        embeddings = _embeddings(embd, strings)
        c_params.embeddings = embeddings if embeddings is not None else ffi.NULL
        c_params.embedding_count = 0 if embeddings is None else len(embeddings)
        c_params.tensor_type_rules = strings(rules)
        c_params.vae_decode_only = False
        # The engine's default frees the weights after one generation; a Context generates many.
        c_params.free_params_immediately = False
        if n_threads > 0:
            c_params.n_threads = n_threads
        c_params.wtype = wtype
        c_params.rng_type = rng_type
        c_params.sampler_rng_type = sampler_rng_type
        c_params.prediction = prediction_type
        c_params.lora_apply_mode = apply_mode
        c_params.offload_params_to_cpu = offload_to_cpu
        c_params.keep_clip_on_cpu = clip_on_cpu
        c_params.keep_vae_on_cpu = vae_on_cpu
        c_params.keep_control_net_on_cpu = control_net_cpu
        c_params.flash_attn = flash_attn
        c_params.diffusion_flash_attn = flash_attn or diffusion_flash_attn
        c_params.diffusion_conv_direct = diffusion_conv_direct
        c_params.vae_conv_direct = vae_conv_direct
        c_params.enable_mmap = mmap
        c_params.circular_x = circular_x
        c_params.circular_y = circular_y
        c_params.force_sdxl_vae_conv_scale = force_sdxl_vae_conv_scale
        c_params.tae_preview_only = taesd_preview_only
        c_params.max_vram = vram_budget
        c_params.chroma_use_dit_mask = chroma_use_dit_mask
        c_params.chroma_use_t5_mask = chroma_use_t5_mask
        c_params.chroma_t5_mask_pad = mask_pad
        c_params.qwen_image_zero_cond_t = qwen_image_zero_cond_t
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

        ``ctx.generate(request)``, ``ctx.generate("a cat", steps=25)`` and
        ``ctx.generate(request, seed=7)`` (a changed copy of the request) all work; the keyword
        names and defaults are the request's fields (sd-cli's names). ``progress`` is called as
        ``progress(step, steps, seconds_per_step)`` (raising cancels); ``preview`` as
        ``preview(step, images, is_noisy)`` with intermediate images.

        Raises:
            InvalidArgument: a bad setting (before any engine call).
            GenerationCancelled: :meth:`cancel` was called.
            GenerationError: the engine failed; the message carries its log.
        """
        request = build_request(prompt, negative_prompt, settings)
        fields = {name: getattr(request, name) for name in FIELD_NAMES}
        return self._generate_keywords(progress=progress, preview=preview, **fields)

    def _generate_keywords(
        self,
        prompt: str,
        negative_prompt: str = "",
        *,
        width: Optional[int] = None,
        height: Optional[int] = None,
        steps: int = P.DEFAULT_STEPS,
        cfg_scale: float = P.DEFAULT_CFG_SCALE,
        img_cfg_scale: Optional[float] = None,
        guidance: float = 3.5,
        seed: int = P.DEFAULT_SEED,
        sampling_method: Optional[str] = None,
        scheduler: Optional[str] = None,
        eta: Optional[float] = None,
        sigmas: Union[Sequence[float], str, None] = None,
        flow_shift: Optional[float] = None,
        timestep_shift: int = 0,
        batch_count: int = 1,
        clip_skip: int = -1,
        init_image: Optional[ImageLike] = None,
        mask: Optional[ImageLike] = None,
        strength: float = P.DEFAULT_STRENGTH,
        control_image: Optional[ImageLike] = None,
        control_strength: float = 0.9,
        ref_images: Optional[Sequence[ImageLike]] = None,
        increase_ref_index: bool = False,
        auto_resize_ref_image: bool = True,
        loras: Union[Sequence[LoraSpec], Mapping[P.PathLike, float], None] = None,
        hires: bool = False,
        hires_upscaler: str = "Latent",
        hires_scale: float = 2.0,
        hires_width: int = 0,
        hires_height: int = 0,
        hires_steps: int = 0,
        hires_denoising_strength: float = 0.7,
        slg_scale: float = 0.0,
        skip_layers: Sequence[int] = (7, 8, 9),
        skip_layer_start: float = 0.01,
        skip_layer_end: float = 0.2,
        pm_id_images: Optional[Sequence[ImageLike]] = None,
        pm_id_embed_path: Optional[P.PathLike] = None,
        pm_style_strength: float = 20.0,
        vae_tiling: Optional[bool] = None,
        vae_tile_size: Optional[tuple[int, int]] = None,
        vae_tile_overlap: float = 0.5,
        deepcache: Union[DeepCache, int, str, None] = None,
        cache_mode: Optional[str] = None,
        cache_options: Union[str, Mapping[str, Any], None] = None,
        output_format: str = "numpy",
        progress: Optional[ProgressCallback] = None,
        preview: Optional[PreviewCallback] = None,
        preview_method: str = "proj",
        preview_interval: int = 1,
        preview_noisy: bool = False,
    ) -> GenerationResult:
        """Generate images and return them with the parameters used.

        Names and defaults are sd-cli's (``--cfg-scale`` is ``cfg_scale``).

        Args:
            prompt: what to draw; ``<lora:name:multiplier>`` tags load LoRAs from ``lora_model_dir``.
            negative_prompt: what to avoid (used when ``cfg_scale`` > 1).
            width, height: image size in pixels, multiples of 8; default 512, or the size of
                ``init_image``.
            steps: sampling steps.
            cfg_scale: classifier-free guidance scale; 1 disables the unconditional pass.
            img_cfg_scale: image guidance for inpainting / instruct-pix2pix models (None: cfg_scale).
            guidance: distilled guidance for models with a guidance input (Flux).
            seed: RNG seed; -1 picks a random one over the full int64 range (reported in the result).
            sampling_method: one of :func:`sdcpp.sampling_methods`; None = the model's default.
            scheduler: one of :func:`sdcpp.schedulers`; None = the sampling method's default.
            eta: noise multiplier of the stochastic samplers; None = the sampler's default.
            sigmas: custom sigma schedule (decreasing, ending at 0), replacing steps + scheduler.
            flow_shift: shift for flow models (SD3, Wan); None = automatic.
            timestep_shift: timestep shift for NitroFusion models.
            batch_count: number of images; image i uses seed + i.
            clip_skip: CLIP layers to skip; -1 = the model's default.
            init_image: start from this image (img2img), a uint8 (H, W, 3) array or a PIL image of
                size ``width`` x ``height``.
            mask: inpainting mask of the init image's size: white (255) is repainted, black kept.
            strength: img2img denoising strength in [0, 1]; 1 ignores the init image's content,
                0 returns the init image unchanged (without running the model).
            control_image: the ControlNet's input (needs ``control_net=`` on the Context).
            control_strength: how strongly the ControlNet steers, in [0, 10].
            ref_images: reference images for edit models (Flux Kontext, Qwen-Image-Edit).
            increase_ref_index, auto_resize_ref_image: reference-image handling (sd-cli's flags).
            loras: LoRAs to apply: :class:`sdcpp.Lora` objects, paths, ``(path, multiplier)``
                pairs, or ``{path: multiplier}``; added to those named in the prompt.
            hires: run the highres fix (a second img2img pass at a larger size).
            hires_upscaler: ``"Latent"``, ``"Lanczos"``, ... (:func:`sdcpp.hires_upscalers`) or the
                path of an ESRGAN model.
            hires_scale: target size as a factor of ``width`` x ``height``.
            hires_width, hires_height: explicit target size (0 = from ``hires_scale``; one side
                alone keeps the aspect ratio).
            hires_steps: steps of the second pass (0 = ``steps``).
            hires_denoising_strength: strength of the second pass.
            slg_scale, skip_layers, skip_layer_start, skip_layer_end: skip-layer guidance (DiT models).
            pm_id_images, pm_id_embed_path, pm_style_strength: PhotoMaker inputs.
            vae_tiling: decode in tiles (None = the Context's setting).
            vae_tile_size: tile size in latent pixels (x, y); None = the engine's default.
            vae_tile_overlap: tile overlap as a fraction of the tile size.
            deepcache: DeepCache settings (a :class:`DeepCache`, an int interval, or
                ``"interval,depth,start,end"``); ``cache_stats`` counts full and reused evaluations.
            cache_mode: one of upstream's step caches (``"ucache"``, ``"spectrum"``, ``"easycache"``,
                ``"dbcache"``, ``"taylorseer"``, ``"cache-dit"``) or ``"deepcache"``.
            cache_options: sd-cli's --cache-option text (``"threshold=0.2,start=0.1"``) or a mapping.
            output_format: ``"numpy"`` (uint8 (H, W, 3) arrays) or ``"pil"`` (PIL images).
            progress: called as ``progress(step, steps, seconds_per_step)``; raising cancels.
            preview: called as ``preview(step, images, is_noisy)`` with intermediate images.
            preview_method: ``"proj"`` (fast latent projection), ``"tae"`` or ``"vae"``.
            preview_interval: call ``preview`` every this many steps.
            preview_noisy: preview the noisy input instead of the denoised estimate.

        Raises:
            InvalidArgument: a bad argument (before any engine call).
            GenerationCancelled: :meth:`cancel` was called.
            GenerationError: the engine failed; the message carries its log.
        """
        strings = P.CStrings()
        buffers = R.CImages()
        prompt_bytes = P.check_text("prompt", prompt, R.MAX_PROMPT_BYTES)
        negative_bytes = P.check_text("negative_prompt", negative_prompt, R.MAX_PROMPT_BYTES)
        clean_prompt, prompt_loras = extract_prompt_loras(prompt, self._lora_model_dir)
        all_loras = prompt_loras + coerce_loras(loras)
        if all_loras and self._loras_would_abort:
            raise InvalidArgument("LoRAs cannot be merged into quantized weights (lora_apply_mode='immediately' "
                                  "makes the engine abort): load the Context with lora_apply_mode='auto' or "
                                  "'at_runtime'")
        width, height, images = R.prepare_inputs(init_image, mask, control_image, width, height)
        if "control_image" in images and not self._has_control_net:
            raise InvalidArgument("control_image needs a ControlNet: load the Context with control_net=...")
        references = R.check_images("ref_images", ref_images)
        id_images = R.check_images("pm_id_images", pm_id_images)
        if (id_images or pm_id_embed_path is not None) and not self._has_photo_maker:
            raise InvalidArgument("pm_id_images needs a PhotoMaker model: load the Context with photo_maker=...")
        embed_path = P.check_file("pm_id_embed_path", pm_id_embed_path)
        strength = P.check_float("strength", strength, 0.0, 1.0)
        control_strength = P.check_float("control_strength", control_strength, 0.0, 10.0)
        steps = P.check_int("steps", steps, 1, P.MAX_STEPS)
        cfg_scale = P.check_float("cfg_scale", cfg_scale, 0.0, 1000.0)
        img_cfg = None if img_cfg_scale is None else P.check_float("img_cfg_scale", img_cfg_scale, 0.0, 1000.0)
        guidance = P.check_float("guidance", guidance, 0.0, 1000.0)
        eta_value = None if eta is None else P.check_float("eta", eta, 0.0, 100.0)
        sigma_values = R.check_sigmas(sigmas)
        flow = None if flow_shift is None else P.check_float("flow_shift", flow_shift, -1000.0, 1000.0)
        timestep_shift = P.check_int("timestep_shift", timestep_shift, 0, 1000)
        batch_count = P.check_int("batch_count", batch_count, 1, R.MAX_BATCH)
        clip_skip = P.check_int("clip_skip", clip_skip, -1, 100)
        seed = P.check_int("seed", seed, -1, _MAX_SEED)
        if seed == SEED_RANDOM:
            seed = secrets.randbelow(_MAX_SEED - batch_count)
        if seed + batch_count - 1 > _MAX_SEED:
            raise InvalidArgument(f"seed {seed} + batch_count {batch_count} overflows the 64-bit seed range")
        method = None if sampling_method is None else P.sampling_method_value(sampling_method)
        sched = None if scheduler is None else P.scheduler_value(scheduler)
        hires_fix = R.check_hires(hires, hires_upscaler, hires_scale, hires_width, hires_height, hires_steps,
                                  hires_denoising_strength, width, height)
        slg = P.check_float("slg_scale", slg_scale, 0.0, 100.0)
        layers = R.check_layers("skip_layers", skip_layers)
        layer_start = P.check_float("skip_layer_start", skip_layer_start, 0.0, 1.0)
        layer_end = P.check_float("skip_layer_end", skip_layer_end, 0.0, 1.0)
        pm_style = P.check_float("pm_style_strength", pm_style_strength, 0.0, 100.0)
        for name, flag in (("increase_ref_index", increase_ref_index), ("auto_resize_ref_image", auto_resize_ref_image),
                           ("preview_noisy", preview_noisy)):
            if not isinstance(flag, bool):
                raise InvalidArgument(f"{name} must be True or False")
        tiling = self._vae_tiling if vae_tiling is None else vae_tiling
        if not isinstance(tiling, bool):
            raise InvalidArgument("vae_tiling must be True, False or None")
        tile_size = (0, 0) if vae_tile_size is None else vae_tile_size
        if not isinstance(tile_size, tuple) or len(tile_size) != 2:
            raise InvalidArgument("vae_tile_size must be a (x, y) pair of tile sizes in latent pixels")
        tile_x, tile_y = (P.check_int("vae_tile_size", side, 0, 4096) for side in tile_size)
        tile_overlap = P.check_float("vae_tile_overlap", vae_tile_overlap, 0.0, 0.99)
        output_format = check_output_format(output_format)
        deepcache_settings = _resolve_cache(deepcache, cache_mode, cache_options)
        for name, callback in (("progress", progress), ("preview", preview)):
            if callback is not None and not callable(callback):
                raise InvalidArgument(f"{name} must be callable")
        preview_mode = P.preview_mode_value(preview_method)
        preview_every = P.check_int("preview_interval", preview_interval, 1, P.MAX_STEPS)

        # The engine's size: padded to the size grid when images go in (so they are not stretched)
        # or when the highres fix needs to know it; otherwise the engine rounds up by itself.
        engine_w, engine_h = width, height
        if images or hires_fix is not None:
            engine_w, engine_h = aligned(width, R.SIZE_GRID), aligned(height, R.SIZE_GRID)

        c_params = ffi.new("sd_img_gen_params_t*")
        lib.sd_img_gen_params_init(c_params)
        c_params.prompt = strings(clean_prompt.encode("utf-8") if prompt_loras else prompt_bytes)
        c_params.negative_prompt = strings(negative_bytes)
        c_params.loras = buffers.loras(all_loras, strings)
        c_params.lora_count = len(all_loras)
        c_params.width = engine_w
        c_params.height = engine_h
        c_params.seed = seed
        c_params.batch_count = batch_count
        c_params.clip_skip = clip_skip
        sample = c_params.sample_params
        sample.sample_steps = steps
        sample.guidance.txt_cfg = cfg_scale
        if img_cfg is not None:
            sample.guidance.img_cfg = img_cfg
        sample.guidance.distilled_guidance = guidance
        sample.guidance.slg.scale = slg
        sample.guidance.slg.layers = buffers.ints(layers)
        sample.guidance.slg.layer_count = len(layers)
        sample.guidance.slg.layer_start = layer_start
        sample.guidance.slg.layer_end = layer_end
        if eta_value is not None:
            sample.eta = eta_value
        if sigma_values is not None:
            sample.custom_sigmas = buffers.floats(sigma_values)
            sample.custom_sigmas_count = len(sigma_values)
        if flow is not None:
            sample.flow_shift = flow
        sample.shifted_timestep = timestep_shift
        c_params.strength = strength
        if "init_image" in images:
            buffers.fill(c_params.init_image, images["init_image"])
        if "mask" in images:
            buffers.fill(c_params.mask_image, images["mask"])
        if "control_image" in images:
            buffers.fill(c_params.control_image, images["control_image"])
        c_params.control_strength = control_strength
        c_params.ref_images = buffers.array(references)
        c_params.ref_images_count = len(references)
        c_params.increase_ref_index = increase_ref_index
        c_params.auto_resize_ref_image = auto_resize_ref_image
        c_params.pm_params.id_images = buffers.array(id_images)
        c_params.pm_params.id_images_count = len(id_images)
        c_params.pm_params.id_embed_path = strings(embed_path)
        c_params.pm_params.style_strength = pm_style
        c_params.vae_tiling_params.enabled = tiling
        c_params.vae_tiling_params.tile_size_x = tile_x
        c_params.vae_tiling_params.tile_size_y = tile_y
        c_params.vae_tiling_params.target_overlap = tile_overlap
        if hires_fix is not None:
            target_w, target_h = R.engine_hires_target(hires_fix, width, height, engine_w, engine_h)
            c_params.hires.enabled = True
            c_params.hires.upscaler = P.hires_upscaler_value(hires_fix.upscaler)
            c_params.hires.model_path = strings(None if hires_fix.model_path is None
                                                else os.fsencode(hires_fix.model_path))
            c_params.hires.scale = hires_fix.scale
            c_params.hires.target_width = target_w
            c_params.hires.target_height = target_h
            c_params.hires.steps = hires_fix.steps
            c_params.hires.denoising_strength = hires_fix.denoising_strength

        with self._lock:
            ptr = self._require_open()
            if method is None:
                method = int(lib.sd_get_default_sample_method(ptr))
            if sched is None:
                sched = int(lib.sd_get_default_scheduler(ptr, method))
            sample.sample_method = method
            sample.scheduler = sched
            method_name = P.sampling_methods()[method]
            if deepcache_settings is not None:
                sampled = len(sigma_values) - 1 if sigma_values is not None else steps
                if "init_image" in images:
                    sampled = img2img_steps(sampled, strength)
                evaluations = model_evaluations(method_name, sampled)
                deepcache_settings.validate_for(int(lib.sd_deepcache_max_depth(ptr)), evaluations)
                fill_deepcache(c_params.cache, deepcache_settings)
            elif cache_mode not in (None, "disabled"):
                fill_upstream_cache(c_params.cache, cache_mode, parse_cache_options(cache_options))
            if "init_image" in images and strength == 0.0 and hires_fix is None:
                # Strength 0 means "change nothing". The engine would still run one step at its
                # smallest sigma and round-trip the VAE; return the init image itself instead.
                images_out = [images["init_image"].copy() for _ in range(batch_count)]
                stats = CacheStats(0, 0)
            else:
                images_out = self._run(ptr, c_params, batch_count, progress, preview,
                                       (preview_mode, preview_every, preview_noisy))
                c_stats = ffi.new("sd_cache_stats_t*")
                lib.sd_get_cache_stats(ptr, c_stats)
                stats = CacheStats(int(c_stats.full_evaluations), int(c_stats.reused_evaluations))
        # The engine renders at a size rounded up to what the model needs (a multiple of 64 for
        # SD U-Nets); hand back the size that was asked for, cut from the centre.
        out_w, out_h = (width, height) if hires_fix is None else (hires_fix.width, hires_fix.height)
        arrays = R.crop_to(images_out, out_h, out_w)
        outputs: list[Any] = arrays if output_format == "numpy" else [to_pil(image) for image in arrays]

        used: dict[str, Any] = {
            "prompt": clean_prompt if prompt_loras else prompt,
            "prompt_with_loras": prompt, "negative_prompt": negative_prompt,
            "width": out_w, "height": out_h, "steps": steps if sigma_values is None else len(sigma_values) - 1,
            "cfg_scale": cfg_scale, "img_cfg_scale": img_cfg, "guidance": guidance, "seed": seed,
            "batch_count": batch_count, "sampling_method": method_name, "scheduler": P.schedulers()[sched],
            "eta": R.default_eta(method_name) if eta_value is None else eta_value,
            "sigmas": sigma_values, "clip_skip": clip_skip,
            "strength": strength if "init_image" in images else None,
            "mask": "mask" in images,
            "control_strength": control_strength if "control_image" in images else None,
            "loras": [dataclasses.asdict(lora) for lora in all_loras],
            "hires": None if hires_fix is None else {**hires_fix.as_dict(), "base_width": width,
                                                     "base_height": height},
            "deepcache": None if deepcache_settings is None else str(deepcache_settings),
            "cache_mode": "deepcache" if deepcache_settings is not None else (cache_mode or "disabled"),
            "cache_options": None if cache_options is None else str(cache_options),
            "rng": self.rng,
            "models": {name: os.path.basename(path) for name, path in self.model_paths.items()},
            "version": f"sdcpp {_version()}",
            "generator": _generator(),
            "engine_commit": to_str(lib.sd_commit()),
        }
        return GenerationResult(images=outputs, seeds=[seed + i for i in range(batch_count)], params=used,
                                cache_stats=stats)

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
        batch_count: int,
        progress: Optional[ProgressCallback],
        preview: Optional[PreviewCallback],
        preview_settings: tuple[int, int, bool],
    ) -> list[np.ndarray]:
        mode, interval, noisy = preview_settings
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


def _resolve_cache(
    deepcache: Union[DeepCache, int, str, None],
    cache_mode: Optional[str],
    cache_options: Union[str, Mapping[str, Any], None],
) -> Optional[DeepCache]:
    """Validate the cache arguments; return the DeepCache settings when DeepCache is asked for."""
    if cache_mode is not None and cache_mode not in CACHE_MODES:
        raise InvalidArgument(f"unknown cache mode {cache_mode!r}; choose one of: {', '.join(CACHE_MODES)}")
    if deepcache is not None:
        if cache_mode not in (None, "deepcache"):
            raise InvalidArgument(f"deepcache= and cache_mode={cache_mode!r} exclude each other: pick one cache")
        return DeepCache.coerce(deepcache)
    if cache_mode == "deepcache":
        return deepcache_from_options(parse_cache_options(cache_options))
    if cache_mode in UPSTREAM_CACHE_MODES:
        parse_cache_options(cache_options)  # syntax errors surface before the engine runs
    elif cache_options is not None and cache_mode is None:
        raise InvalidArgument("cache_options needs a cache_mode")
    return None


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
