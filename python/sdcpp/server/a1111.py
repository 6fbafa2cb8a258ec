"""The AUTOMATIC1111 web UI API (``/sdapi/v1/...``) over the job queue.

One table maps A1111's request fields to sdcpp's keyword names (:data:`FIELDS`), two more map
sampler and scheduler names (:data:`SAMPLERS`, :data:`SCHEDULERS`); docs/server.md lists them.
"""
from __future__ import annotations

import json
import time
from typing import Any, Optional

import numpy as np
from fastapi import APIRouter, Request
from PIL import Image, ImageFilter, ImageOps

import sdcpp

from .codec import b64, decode_image, to_rgb
from .errors import ApiError
from .jobs import Job, JobState
from .schemas import A1111Img2Img, A1111Options, A1111Txt2Img
from .state import ClientGone, ServerState

# sdcpp keyword name -> A1111 field (for requests, and for naming fields in errors).
FIELDS = {
    "prompt": "prompt", "negative_prompt": "negative_prompt", "width": "width", "height": "height",
    "steps": "steps", "cfg_scale": "cfg_scale", "seed": "seed", "sampling_method": "sampler_name",
    "scheduler": "scheduler", "batch_count": "batch_size", "eta": "eta", "strength": "denoising_strength",
    "init_image": "init_images", "mask": "mask", "img_cfg_scale": "image_cfg_scale",
    "clip_skip": "override_settings.CLIP_stop_at_last_layers", "hires": "enable_hr", "hires_scale": "hr_scale",
    "hires_upscaler": "hr_upscaler", "hires_steps": "hr_second_pass_steps", "hires_width": "hr_resize_x",
    "hires_height": "hr_resize_y", "hires_denoising_strength": "denoising_strength",
    "deepcache": "deepcache", "cache_mode": "cache_mode", "cache_options": "cache_options",
}

# sdcpp sampling method -> (A1111 name, A1111 aliases).
SAMPLERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "euler": ("Euler", ("k_euler",)), "euler_a": ("Euler a", ("k_euler_a", "k_euler_ancestral")),
    "heun": ("Heun", ("k_heun",)), "dpm2": ("DPM2", ("k_dpm_2",)), "dpm++2s_a": ("DPM++ 2S a", ("k_dpmpp_2s_a",)),
    "dpm++2m": ("DPM++ 2M", ("k_dpmpp_2m",)), "dpm++2mv2": ("DPM++ 2M v2", ()), "ipndm": ("iPNDM", ()),
    "ipndm_v": ("iPNDM_v", ()), "lcm": ("LCM", ("k_lcm",)), "ddim_trailing": ("DDIM", ("ddim",)),
    "tcd": ("TCD", ()), "res_multistep": ("Res Multistep", ()), "res_2s": ("Res 2s", ()),
    "er_sde": ("ER SDE", ()),
}

# sdcpp scheduler -> (A1111 name, A1111 label); "automatic" means the sampler's default.
SCHEDULERS: dict[str, tuple[str, str]] = {
    "discrete": ("uniform", "Uniform"), "karras": ("karras", "Karras"), "exponential": ("exponential", "Exponential"),
    "ays": ("align_your_steps", "Align Your Steps"), "sgm_uniform": ("sgm_uniform", "SGM Uniform"),
    "simple": ("simple", "Simple"), "kl_optimal": ("kl_optimal", "KL Optimal"), "gits": ("gits", "GITS"),
    "smoothstep": ("smoothstep", "Smoothstep"), "lcm": ("lcm", "LCM"), "bong_tangent": ("bong_tangent", "Bong Tangent"),
}
SCHEDULER_ALIASES = {"normal": "discrete", "automatic": None}


def sampler_label(method: str) -> str:
    """A1111's name of an sdcpp sampling method."""
    return SAMPLERS.get(method, (method, ()))[0]


def scheduler_name(scheduler: str) -> str:
    """A1111's name of an sdcpp scheduler."""
    return SCHEDULERS.get(scheduler, (scheduler, scheduler))[0]


def parse_sampler(name: Optional[str]) -> tuple[Optional[str], Optional[str]]:
    """A1111 sampler name -> (sdcpp sampling method, scheduler from an old-style suffix such as
    "DPM++ 2M Karras"). Unknown names answer 422 naming ``sampler_name``."""
    if name is None or name.strip() == "":
        return None, None
    wanted = name.strip().lower()
    for method in sdcpp.sampling_methods():
        label, aliases = SAMPLERS.get(method, (method, ()))
        if wanted in {method, label.lower(), *aliases}:
            return method, None
    for scheduler, (_, label) in SCHEDULERS.items():
        suffix = " " + label.lower()
        if wanted.endswith(suffix):
            base, _ = parse_sampler(name.strip()[: -len(suffix)])
            return base, scheduler
    choices = ", ".join(sampler_label(method) for method in sdcpp.sampling_methods())
    raise ApiError(422, f"unknown sampler {name!r}; choose one of: {choices}", "sampler_name")


def parse_scheduler(name: Optional[str]) -> Optional[str]:
    """A1111 scheduler name or label -> sdcpp scheduler (None = the sampler's default)."""
    if name is None or name.strip() == "":
        return None
    wanted = name.strip().lower()
    if wanted in SCHEDULER_ALIASES:
        return SCHEDULER_ALIASES[wanted]
    for scheduler in sdcpp.schedulers():
        a1111, label = SCHEDULERS.get(scheduler, (scheduler, scheduler))
        if wanted in {scheduler, a1111, label.lower()}:
            return scheduler
    choices = ", ".join(scheduler_name(s) for s in sdcpp.schedulers())
    raise ApiError(422, f"unknown scheduler {name!r}; choose automatic or one of: {choices}", "scheduler")


def _refuse_unsupported(body: A1111Txt2Img) -> None:
    checks = [
        ("styles", bool(body.styles), "styles are not supported; put the text in the prompt"),
        ("subseed_strength", body.subseed_strength != 0, "variation seeds (subseed_strength) are not supported"),
        ("restore_faces", bool(body.restore_faces), "face restoration is not supported"),
        ("tiling", bool(body.tiling), "tiling is a model option here: start the server with --circular"),
        ("refiner_checkpoint", bool(body.refiner_checkpoint), "refiner checkpoints are not supported"),
        ("script_name", bool(body.script_name), "scripts are not supported"),
        ("alwayson_scripts", bool(body.alwayson_scripts), "alwayson_scripts are not supported"),
        ("firstpass_image", bool(body.firstpass_image), "firstpass_image is not supported"),
        ("hr_checkpoint_name", bool(body.hr_checkpoint_name), "a second checkpoint for the highres fix is not supported"),
        ("hr_prompt", bool(body.hr_prompt) and body.hr_prompt != body.prompt, "a separate highres-fix prompt is not supported"),
    ]
    for field, refused, message in checks:
        if refused:
            raise ApiError(422, message, field)


class A1111Api:
    """The routes of the A1111 API over one :class:`ServerState`."""

    def __init__(self, state: ServerState) -> None:
        self.state = state

    # -- request mapping ------------------------------------------------------------------------

    def check_model(self, name: Optional[str], field: str) -> None:
        """Only the loaded model may be named (nothing is ever looked up on disk)."""
        if name is None:
            return
        title = name.split(" [")[0].strip()
        if title not in self.state.model_names():
            raise ApiError(422, f"{field}: this server serves one model, {self.state.settings.model_name!r}; "
                           f"switching to {name!r} is not supported", field)

    def common_fields(self, body: A1111Txt2Img) -> dict[str, Any]:
        """The fields txt2img and img2img share, in sdcpp's names."""
        _refuse_unsupported(body)
        overrides = dict(body.override_settings or {})
        self.check_model(overrides.get("sd_model_checkpoint"), "override_settings.sd_model_checkpoint")
        method, suffix_scheduler = parse_sampler(body.sampler_name or body.sampler_index)
        scheduler = parse_scheduler(body.scheduler) if body.scheduler else suffix_scheduler
        if body.batch_size < 1 or body.n_iter < 1:
            raise ApiError(422, "batch_size and n_iter must be at least 1", "batch_size" if body.batch_size < 1 else "n_iter")
        clip_skip = overrides.get("CLIP_stop_at_last_layers")
        return {
            "prompt": body.prompt, "negative_prompt": body.negative_prompt, "seed": body.seed,
            "sampling_method": method, "scheduler": scheduler, "batch_count": body.batch_size * body.n_iter,
            "steps": body.steps, "cfg_scale": body.cfg_scale, "width": body.width, "height": body.height,
            "eta": body.eta, "clip_skip": clip_skip, "deepcache": body.deepcache, "cache_mode": body.cache_mode,
            "cache_options": body.cache_options,
        }

    async def generate(self, request: Request, body: A1111Txt2Img, fields: dict[str, Any],
                       init_images: list[str]) -> dict[str, Any]:
        """Run the job, answer A1111's response (images, parameters, info)."""
        state = self.state
        filled, prepared = state.prepare(fields, FIELDS)
        job = state.submit(filled, prepared, "a1111")
        try:
            await state.wait(job, request)
        except ClientGone:
            return {}
        try:
            state.raise_failure(job, FIELDS)
            images = [] if job.result is None else [b64(png) for png in job.result.images]
            info = self.info(job, filled, body)
            parameters = body.model_dump()
            parameters.update({"seed": info["seed"], "steps": info["steps"], "cfg_scale": info["cfg_scale"],
                               "width": info["width"], "height": info["height"], "sampler_name": info["sampler_name"],
                               "scheduler": info["scheduler"]})
            if isinstance(body, A1111Img2Img):
                parameters["init_images"] = None
                parameters["mask"] = None
                if body.include_init_images:
                    images.extend(init_images)
            return {"images": images if body.send_images else [], "parameters": parameters,
                    "info": json.dumps(info)}
        finally:
            state.jobs.forget(job)

    def info(self, job: Job, fields: dict[str, Any], body: A1111Txt2Img) -> dict[str, Any]:
        """A1111's ``info`` object (sent as a JSON string) with sdcpp's cache statistics."""
        result = job.result
        params: dict[str, Any] = dict(result.params) if result is not None else {}
        seeds = list(result.seeds) if result is not None else []
        count = len(seeds)
        prompt = params.get("prompt", fields.get("prompt", ""))
        negative = params.get("negative_prompt", fields.get("negative_prompt", ""))
        stats = result.cache_stats if result is not None else sdcpp.CacheStats(0, 0)
        extra: dict[str, Any] = {}
        if params.get("deepcache"):
            extra.update({"DeepCache": params["deepcache"], "DeepCache full evaluations": stats.full_evaluations,
                          "DeepCache reused evaluations": stats.reused_evaluations})
        elif params.get("cache_mode") not in (None, "disabled"):
            extra["Cache mode"] = params["cache_mode"]
        if params.get("scheduler"):
            extra["Schedule type"] = SCHEDULERS.get(params["scheduler"], ("", params["scheduler"]))[1]
        return {
            "prompt": prompt, "all_prompts": [prompt] * count, "negative_prompt": negative,
            "all_negative_prompts": [negative] * count, "seed": seeds[0] if seeds else fields.get("seed", -1),
            "all_seeds": seeds, "subseed": -1, "all_subseeds": [-1] * count, "subseed_strength": 0,
            "width": params.get("width", fields.get("width")), "height": params.get("height", fields.get("height")),
            "sampler_name": sampler_label(params.get("sampling_method", "") or ""),
            "scheduler": scheduler_name(params.get("scheduler", "") or ""),
            "cfg_scale": params.get("cfg_scale", fields.get("cfg_scale")), "steps": params.get("steps", fields.get("steps")),
            "batch_size": body.batch_size, "restore_faces": False, "face_restoration_model": None,
            "sd_model_name": self.state.settings.model_name.rsplit(".", 1)[0], "sd_model_hash": None,
            "sd_vae_name": None, "sd_vae_hash": None, "seed_resize_from_w": -1, "seed_resize_from_h": -1,
            "denoising_strength": params.get("strength") if params.get("strength") is not None
            else (params.get("hires") or {}).get("denoising_strength"),
            "extra_generation_params": extra, "index_of_first_image": 0,
            "infotexts": list(result.infotexts) if result is not None else [], "styles": [],
            "job_timestamp": time.strftime("%Y%m%d%H%M%S", time.localtime(job.created)),
            "clip_skip": params.get("clip_skip", -1), "is_using_inpainting_conditioning": False,
            "version": params.get("version", f"sdcpp {sdcpp.__version__}"),
            "interrupted": job.state is JobState.CANCELLED,
            "deepcache": params.get("deepcache"),
            "cache_stats": {"full_evaluations": stats.full_evaluations, "reused_evaluations": stats.reused_evaluations},
        }

    # -- img2img inputs -------------------------------------------------------------------------

    def img2img_inputs(self, body: A1111Img2Img) -> tuple[np.ndarray, Optional[np.ndarray], int, int]:
        """Decode, resize (A1111's resize_mode) and check the init image and mask."""
        if not body.init_images:
            raise ApiError(422, "init_images needs one base64 image", "init_images")
        limit = self.state.settings.max_image_pixels
        init = decode_image("init_images", body.init_images[0], limit)
        width = body.width if body.width is not None else init.width - init.width % 8
        height = body.height if body.height is not None else init.height - init.height % 8
        for name, side in (("width", width), ("height", height)):
            if not isinstance(side, int) or side < 8 or side % 8:
                raise ApiError(422, f"{name} must be a positive multiple of 8, got {side}", name)
        if width * height > self.state.settings.max_output_pixels:
            raise ApiError(422, f"width x height = {width * height} pixels is over this server's limit", "width")
        init = _resize(init, width, height, body.resize_mode)
        mask_pixels = None
        if body.mask:
            mask = decode_image("mask", body.mask, limit).convert("L")
            mask = _resize(mask, width, height, body.resize_mode)
            if body.inpainting_mask_invert:
                mask = ImageOps.invert(mask)
            blur_x = body.mask_blur if body.mask_blur is not None else body.mask_blur_x
            blur_y = body.mask_blur if body.mask_blur is not None else body.mask_blur_y
            if blur_x > 0 or blur_y > 0:
                mask = mask.filter(ImageFilter.GaussianBlur((max(blur_x, 0), max(blur_y, 0))))
            mask_pixels = np.asarray(mask, dtype=np.uint8)
        return to_rgb(init), mask_pixels, width, height


def _resize(image: Image.Image, width: int, height: int, mode: int) -> Image.Image:
    """A1111's resize modes: 0 just resize, 1 crop and resize, 2 resize and fill."""
    if image.size == (width, height):
        return image
    if mode == 1:
        return ImageOps.fit(image, (width, height), Image.Resampling.LANCZOS)
    if mode == 2:
        fitted = ImageOps.contain(image, (width, height), Image.Resampling.LANCZOS)
        canvas = Image.new(image.mode, (width, height))
        canvas.paste(fitted.resize((width, height), Image.Resampling.LANCZOS))
        canvas.paste(fitted, ((width - fitted.width) // 2, (height - fitted.height) // 2))
        return canvas
    if mode not in (0, 3):
        raise ApiError(422, f"resize_mode must be 0, 1, 2 or 3, got {mode}", "resize_mode")
    return image.resize((width, height), Image.Resampling.LANCZOS)


def router(state: ServerState) -> APIRouter:
    """The ``/sdapi/v1`` routes."""
    api = A1111Api(state)
    routes = APIRouter(prefix="/sdapi/v1", tags=["AUTOMATIC1111"])

    @routes.post("/txt2img")
    async def txt2img(body: A1111Txt2Img, request: Request) -> dict[str, Any]:
        """Text to image; ``info`` is a JSON string with seeds, infotexts and cache statistics."""
        fields = api.common_fields(body)
        if body.enable_hr:
            fields.update({"hires": True, "hires_scale": body.hr_scale, "hires_steps": body.hr_second_pass_steps,
                           "hires_width": body.hr_resize_x, "hires_height": body.hr_resize_y,
                           "hires_denoising_strength": 0.7 if body.denoising_strength is None
                           else body.denoising_strength,
                           "hires_upscaler": body.hr_upscaler or "Latent"})
        return await api.generate(request, body, fields, [])

    @routes.post("/img2img")
    async def img2img(body: A1111Img2Img, request: Request) -> dict[str, Any]:
        """Image to image, inpainting with ``mask`` (white = repaint)."""
        fields = api.common_fields(body)
        init, mask, width, height = api.img2img_inputs(body)
        fields.update({"init_image": init, "mask": mask, "width": width, "height": height,
                       "strength": 0.75 if body.denoising_strength is None else body.denoising_strength,
                       "img_cfg_scale": body.image_cfg_scale})
        return await api.generate(request, body, fields, body.init_images[:1])

    @routes.get("/progress")
    async def progress(skip_current_image: bool = False) -> dict[str, Any]:
        """Progress of the running job: fraction, eta, step, and the current preview image."""
        jobs = state.jobs
        job = jobs.running
        count = jobs.queued + (0 if job is None else 1)
        if job is None:
            return {"progress": 0.0, "eta_relative": 0.0, "current_image": None, "textinfo": None,
                    "state": {"skipped": False, "interrupted": False, "job": "", "job_count": count,
                              "job_timestamp": "0", "job_no": 0, "sampling_step": 0, "sampling_steps": 0}}
        preview = None if skip_current_image else job.preview_png()
        return {"progress": job.fraction, "eta_relative": job.eta_seconds,
                "current_image": None if preview is None else b64(preview), "textinfo": None,
                "state": {"skipped": False, "interrupted": job.cancel_requested, "job": job.id,
                          "job_count": count, "job_timestamp": time.strftime("%Y%m%d%H%M%S",
                                                                             time.localtime(job.created)),
                          "job_no": job.image_index, "sampling_step": job.step, "sampling_steps": job.steps}}

    @routes.post("/interrupt")
    async def interrupt() -> None:
        """Stop the running generation within one sampling step (queued jobs keep waiting)."""
        state.jobs.interrupt()

    @routes.post("/skip")
    async def skip() -> None:
        """Same as interrupt (sdcpp generates a batch in one engine call)."""
        state.jobs.interrupt()

    @routes.get("/samplers")
    async def samplers() -> list[dict[str, Any]]:
        """Sampling methods with A1111's names; the sdcpp name is one of the aliases."""
        return [{"name": sampler_label(m), "aliases": [m, *SAMPLERS.get(m, ("", ()))[1]], "options": {}}
                for m in sdcpp.sampling_methods()]

    @routes.get("/schedulers")
    async def schedulers() -> list[dict[str, Any]]:
        """Schedulers with A1111's names and labels; "automatic" is the sampler's default."""
        entries: list[dict[str, Any]] = [{"name": "automatic", "label": "Automatic", "aliases": None, "default_rho": -1,
                    "need_inner_model": False}]
        for s in sdcpp.schedulers():
            name, label = SCHEDULERS.get(s, (s, s))
            entries.append({"name": name, "label": label, "aliases": [s], "default_rho": -1,
                            "need_inner_model": False})
        return entries

    @routes.get("/sd-models")
    async def sd_models() -> list[dict[str, Any]]:
        """The one loaded model."""
        name = state.settings.model_name
        return [{"title": name, "model_name": name.rsplit(".", 1)[0], "hash": None, "sha256": None,
                 "filename": name, "config": None}]

    @routes.get("/sd-vae")
    async def sd_vae() -> list[dict[str, Any]]:
        """The separate VAE, if one was loaded."""
        vae = state.settings.context_options.get("vae")
        return [] if vae is None else [{"model_name": str(vae).rsplit("/", 1)[-1], "filename": None}]

    @routes.get("/options")
    async def get_options() -> dict[str, Any]:
        """The settings A1111 clients read (model, CLIP skip, sample format)."""
        defaults = state.settings.defaults
        return {"sd_model_checkpoint": state.settings.model_name, "sd_checkpoint_hash": None,
                "CLIP_stop_at_last_layers": max(defaults.clip_skip, 1), "samples_format": "png",
                "sd_vae": "Automatic", "sdcpp_deepcache": defaults.deepcache}

    @routes.post("/options")
    async def set_options(body: A1111Options) -> None:
        """Only a no-op change is possible: the server serves one model with fixed settings."""
        api.check_model(body.sd_model_checkpoint, "sd_model_checkpoint")
        extra = sorted((body.model_extra or {}).keys())
        if extra:
            raise ApiError(422, f"option(s) {', '.join(extra)} cannot be changed on this server", extra[0])

    @routes.get("/loras")
    async def loras() -> list[dict[str, Any]]:
        """LoRA files in --lora-model-dir, for ``<lora:name:multiplier>`` prompt tags."""
        from .generation import list_loras

        return list_loras(state.lora_dir)

    @routes.post("/refresh-loras")
    async def refresh_loras() -> None:
        """LoRAs are read from the directory at each request; nothing to refresh."""

    @routes.get("/upscalers")
    async def upscalers() -> list[dict[str, Any]]:
        """Upscalers usable as ``hr_upscaler`` (the engine's built-in ones)."""
        return [{"name": name, "model_name": None, "model_path": None, "model_url": None, "scale": None}
                for name in sdcpp.hires_upscalers() if name != "Model"]

    @routes.get("/latent-upscale-modes")
    async def latent_upscale_modes() -> list[dict[str, str]]:
        """The latent upscalers among them."""
        return [{"name": name} for name in sdcpp.hires_upscalers() if name.startswith("Latent")]

    @routes.get("/cmd-flags")
    async def cmd_flags() -> dict[str, Any]:
        """The server's listen address and limits (no secrets)."""
        settings = state.settings
        return {"listen": settings.listen_ip, "port": settings.listen_port, "api_auth": settings.api_key is not None}

    @routes.get("/memory")
    async def memory() -> dict[str, Any]:
        """Process memory (RSS) and job queue figures."""
        from .app import rss_bytes

        return {"ram": {"used": rss_bytes()}, "jobs": state.jobs.stats()}

    return routes
