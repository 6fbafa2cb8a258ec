"""OpenAI's images API (``/v1/images/generations``, ``/v1/images/edits``, ``/v1/models``).

OpenAI's fields map onto sdcpp's through :data:`FIELDS`; sdcpp's own names (``steps``,
``cfg_scale``, ``seed``, ``sampling_method``, ``deepcache``, ...) are accepted as extras. Errors use
OpenAI's shape ``{"error": {"message", "type", "param", "code"}}``.
"""
from __future__ import annotations

import time
from typing import Any, Optional

import numpy as np
from fastapi import APIRouter, File, Form, Request, UploadFile
from PIL import Image

from .codec import b64, open_image, to_rgb, transcode
from .errors import ApiError
from .jobs import Job, JobState
from .schemas import OpenAIImageGeneration
from .state import ClientGone, ServerState

# sdcpp keyword name -> OpenAI field.
FIELDS = {
    "prompt": "prompt", "batch_count": "n", "width": "size", "height": "size", "init_image": "image",
    "mask": "mask", "negative_prompt": "negative_prompt", "steps": "steps", "cfg_scale": "cfg_scale",
    "seed": "seed", "sampling_method": "sampling_method", "scheduler": "scheduler", "strength": "strength",
    "clip_skip": "clip_skip", "eta": "eta", "deepcache": "deepcache", "cache_mode": "cache_mode",
    "cache_options": "cache_options",
}
# Model names OpenAI clients send by default; they all mean the one model served here.
OPENAI_MODEL_NAMES = frozenset({"dall-e-2", "dall-e-3", "gpt-image-1", "gpt-image-1-mini", "gpt-image-1.5", "sdcpp"})


class OpenAIApi:
    """The routes of the OpenAI images API over one :class:`ServerState`."""

    def __init__(self, state: ServerState) -> None:
        self.state = state

    def check_model(self, model: Optional[str]) -> None:
        """The served model, or a name OpenAI clients default to; anything else is 404."""
        if model is None or model in self.state.model_names() or model in OPENAI_MODEL_NAMES:
            return
        raise ApiError(404, f"The model '{model}' does not exist on this server; it serves "
                       f"'{self.state.settings.model_name}'", "model", "model_not_found")

    def size(self, size: Optional[str]) -> tuple[Optional[int], Optional[int]]:
        """``"WxH"`` -> (W, H); None or "auto" -> the server's default (None, None)."""
        if size is None or size == "auto":
            return None, None
        parts = size.lower().split("x")
        if len(parts) != 2 or not all(part.isdigit() for part in parts):
            raise ApiError(400, f"size {size!r}: expected WIDTHxHEIGHT such as '512x512', or 'auto'", "size")
        return int(parts[0]), int(parts[1])

    async def run(self, request: Request, fields: dict[str, Any], response_format: Optional[str],
                  output_format: Optional[str], compression: Optional[int]) -> dict[str, Any]:
        """Run one job and answer OpenAI's ImagesResponse."""
        state = self.state
        filled, prepared = state.prepare(fields, FIELDS)
        filled_for_job = dict(filled)
        job = state.submit(filled_for_job, prepared, "openai")
        keep = response_format == "url"
        try:
            await state.wait(job, request)
        except ClientGone:
            return {}
        try:
            state.raise_failure(job, FIELDS)
            if job.state is JobState.CANCELLED or job.result is None:
                raise ApiError(503, "the generation was cancelled (interrupt or server shutdown)", code="cancelled")
            fmt = output_format or "png"
            data: list[dict[str, Any]] = []
            for index, png in enumerate(job.result.images):
                if keep:
                    data.append({"url": str(request.url_for("job_image", job_id=job.id, index=index)),
                                 "revised_prompt": None})
                else:
                    data.append({"b64_json": b64(transcode(png, fmt, compression)), "revised_prompt": None})
            params = job.result.params
            return {"created": int(job.created), "data": data, "output_format": fmt,
                    "size": f"{params.get('width')}x{params.get('height')}", "quality": "auto",
                    "background": "opaque", "usage": _usage(job)}
        finally:
            if not keep:
                state.jobs.forget(job)

    def extras(self, body: OpenAIImageGeneration) -> dict[str, Any]:
        """sdcpp's extras in a generations request."""
        return {"negative_prompt": body.negative_prompt, "steps": body.steps, "cfg_scale": body.cfg_scale,
                "seed": body.seed, "sampling_method": body.sampling_method, "scheduler": body.scheduler,
                "clip_skip": body.clip_skip, "eta": body.eta, "deepcache": body.deepcache,
                "cache_mode": body.cache_mode, "cache_options": body.cache_options}


def _usage(job: Job) -> dict[str, int]:
    # OpenAI reports tokens; here the unit is model evaluations (full + DeepCache-reused).
    stats = job.result.cache_stats if job.result is not None else None
    evaluations = 0 if stats is None else stats.full_evaluations + stats.reused_evaluations
    return {"input_tokens": 0, "output_tokens": 0, "total_tokens": 0, "model_evaluations": evaluations}


def edit_mask(image: Image.Image, mask: Optional[Image.Image]) -> Optional[np.ndarray]:
    """OpenAI's mask semantics -> sdcpp's (white = repaint): transparent pixels of the mask (or,
    without a mask, of the image) are the ones to edit; an opaque mask is read as grayscale."""
    source = mask if mask is not None else image
    if source.mode in ("RGBA", "LA", "PA") or (source.mode == "P" and "transparency" in source.info):
        alpha = np.asarray(source.convert("RGBA"), dtype=np.uint8)[:, :, 3]
        if mask is None and alpha.min() == 255:
            return None
        return np.where(alpha < 255, 255, 0).astype(np.uint8)
    if mask is None:
        return None
    return np.asarray(mask.convert("L"), dtype=np.uint8)


def router(state: ServerState) -> APIRouter:
    """The ``/v1`` routes."""
    api = OpenAIApi(state)
    routes = APIRouter(prefix="/v1", tags=["OpenAI"])

    @routes.post("/images/generations")
    async def generations(body: OpenAIImageGeneration, request: Request) -> dict[str, Any]:
        """Create images from a prompt."""
        api.check_model(body.model)
        if body.stream:
            raise ApiError(400, "streaming (stream=true) is not supported; poll /sdcpp/v1/jobs for progress", "stream")
        width, height = api.size(body.size)
        fields = {"prompt": body.prompt, "batch_count": body.n, "width": width, "height": height, **api.extras(body)}
        return await api.run(request, fields, body.response_format, body.output_format, body.output_compression)

    @routes.post("/images/edits")
    async def edits(
        request: Request,
        prompt: str = Form(...),
        image: Optional[list[UploadFile]] = File(None),
        image_list: Optional[list[UploadFile]] = File(None, alias="image[]"),
        mask: Optional[UploadFile] = File(None),
        model: Optional[str] = Form(None),
        n: int = Form(1, ge=1, le=10),
        size: Optional[str] = Form(None),
        response_format: Optional[str] = Form(None, pattern="^(url|b64_json)$"),
        output_format: Optional[str] = Form(None, pattern="^(png|jpeg|webp)$"),
        output_compression: Optional[int] = Form(None, ge=0, le=100),
        quality: Optional[str] = Form(None),
        background: Optional[str] = Form(None),
        input_fidelity: Optional[str] = Form(None),
        user: Optional[str] = Form(None),
        negative_prompt: Optional[str] = Form(None),
        steps: Optional[int] = Form(None),
        cfg_scale: Optional[float] = Form(None),
        seed: Optional[int] = Form(None),
        strength: Optional[float] = Form(None),
        sampling_method: Optional[str] = Form(None),
        scheduler: Optional[str] = Form(None),
        deepcache: Optional[str] = Form(None),
    ) -> dict[str, Any]:
        """Edit an image (multipart): the mask's transparent pixels are repainted."""
        api.check_model(model)
        uploads = list(image or []) + list(image_list or [])
        if not uploads:
            raise ApiError(400, "image: upload the image to edit (multipart field 'image')", "image")
        limit = state.settings.max_image_pixels
        source = open_image("image", await uploads[0].read(), limit)
        mask_image = None if mask is None else open_image("mask", await mask.read(), limit)
        width, height = api.size(size)
        if width is None or height is None:
            width, height = max(8, source.width - source.width % 8), max(8, source.height - source.height % 8)
        if width * height > state.settings.max_output_pixels:
            raise ApiError(400, f"size {width}x{height} is over this server's limit of "
                           f"{state.settings.max_output_pixels} pixels", "size")
        if mask_image is not None and mask_image.size != source.size:
            raise ApiError(400, f"mask is {mask_image.width}x{mask_image.height}, the image "
                           f"{source.width}x{source.height}: they must have the same size", "mask")
        repaint = edit_mask(source, mask_image)
        if source.size != (width, height):
            source = source.resize((width, height), Image.Resampling.LANCZOS)
        init = to_rgb(source)
        if repaint is not None and repaint.shape[:2] != (height, width):
            repaint = np.asarray(Image.fromarray(repaint).resize((width, height), Image.Resampling.NEAREST))
        fields = {"prompt": prompt, "batch_count": n, "width": width, "height": height, "init_image": init,
                  "mask": repaint, "strength": strength if strength is not None else (1.0 if repaint is not None else 0.75),
                  "negative_prompt": negative_prompt, "steps": steps, "cfg_scale": cfg_scale, "seed": seed,
                  "sampling_method": sampling_method, "scheduler": scheduler, "deepcache": deepcache}
        return await api.run(request, fields, response_format, output_format, output_compression)

    @routes.get("/models")
    async def models() -> dict[str, Any]:
        """The served model."""
        return {"object": "list", "data": [{"id": state.settings.model_name, "object": "model",
                                            "created": int(state.started), "owned_by": "sdcpp"}]}

    @routes.get("/models/{model_id}")
    async def model(model_id: str) -> dict[str, Any]:
        """One model (only the served one exists)."""
        if model_id not in state.model_names():
            raise ApiError(404, f"The model '{model_id}' does not exist", "model", "model_not_found")
        return {"id": state.settings.model_name, "object": "model", "created": int(state.started), "owned_by": "sdcpp"}

    return routes
