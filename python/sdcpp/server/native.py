"""sdcpp's own jobs API (``/sdcpp/v1/...``): submit returns at once; poll, preview, fetch, cancel.

Request fields are :meth:`sdcpp.Context.generate`'s keyword names (the table is the identity).
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

import sdcpp

from . import generation
from .codec import decode_image, to_rgb
from .errors import ApiError, field_in_message
from .jobs import Job
from .schemas import NativeJob
from .state import ServerState

FIELDS = {name: name for name in NativeJob.model_fields}
_JOB_ID = re.compile(r"^[0-9a-f]{32}$")


def job_status(state: ServerState, job: Job, request: Request) -> dict[str, Any]:
    """A job as JSON: state, progress, eta, error, result links."""
    result = None
    if job.result is not None:
        params = dict(job.result.params)
        if isinstance(params.get("loras"), list):  # file names only: no server paths in answers
            params["loras"] = [{**lora, "path": Path(str(lora.get("path", ""))).name} if isinstance(lora, dict)
                               else lora for lora in params["loras"]]
        result = {"seeds": job.result.seeds, "parameters": job.result.infotexts, "params": params,
                  "cache_stats": {"full_evaluations": job.result.cache_stats.full_evaluations,
                                  "reused_evaluations": job.result.cache_stats.reused_evaluations},
                  "images": [str(request.url_for("job_image", job_id=job.id, index=index))
                             for index in range(len(job.result.images))]}
    error = None
    if job.failure is not None:
        error = {"kind": job.failure.kind, "message": job.failure.message,
                 "field": field_in_message(job.failure.message, FIELDS)}
    return {
        "id": job.id, "state": job.state.value, "created": job.created, "started": job.started,
        "finished": job.finished, "queue_position": state.jobs.position(job),
        "progress": {"step": job.step, "steps": job.steps, "image": job.image_index, "images": job.images_total,
                     "fraction": job.fraction},
        "eta_seconds": job.eta_seconds, "error": error, "result": result,
        "links": {"self": str(request.url_for("get_job", job_id=job.id)),
                  "preview": str(request.url_for("job_preview", job_id=job.id))},
    }


def router(state: ServerState) -> APIRouter:
    """The ``/sdcpp/v1`` routes."""
    routes = APIRouter(prefix="/sdcpp/v1", tags=["sdcpp jobs"])

    def find(job_id: str) -> Job:
        job = state.jobs.get(job_id) if _JOB_ID.match(job_id) else None
        if job is None:
            raise ApiError(404, f"no job {job_id!r} (unknown, or its results expired)")
        return job

    @routes.get("/health")
    async def health() -> dict[str, str]:
        """"ok" once the model is loaded (no authentication needed)."""
        return {"status": "ok" if state.job_queue is not None else "loading"}

    @routes.get("/info")
    async def info() -> dict[str, Any]:
        """The model, vocabularies, defaults, limits and queue figures."""
        settings = state.settings
        depth = None if state.context is None else state.context.deepcache_max_depth
        return {"model": settings.model_name, "version": sdcpp.__version__,
                "sampling_methods": list(sdcpp.sampling_methods()), "schedulers": list(sdcpp.schedulers()),
                "hires_upscalers": [n for n in sdcpp.hires_upscalers() if n != "Model"],
                "deepcache_max_depth": depth, "defaults": dict(settings.defaults.__dict__),
                "limits": {"max_queue": settings.max_queue, "max_body_bytes": settings.max_body_bytes,
                           "max_image_pixels": settings.max_image_pixels,
                           "max_output_pixels": settings.max_output_pixels, "max_batch": settings.max_batch,
                           "max_steps": settings.max_steps, "result_ttl_s": settings.result_ttl_s},
                "loras": [entry["name"] for entry in generation.list_loras(state.lora_dir)],
                "queue": state.jobs.stats()}

    @routes.post("/jobs", status_code=202)
    async def submit(body: NativeJob, request: Request) -> JSONResponse:
        """Queue a generation; answers 202 with the job at once (429 when the queue is full)."""
        fields = body.model_dump(exclude_none=True)
        limit = state.settings.max_image_pixels
        for name in ("init_image", "control_image"):
            if name in fields:
                fields[name] = to_rgb(decode_image(name, fields[name], limit))
        if "mask" in fields:
            fields["mask"] = to_rgb(decode_image("mask", fields["mask"], limit))[:, :, 0].copy()
        if "deepcache" not in fields and "deepcache" in body.model_fields_set:
            fields["deepcache"] = False  # an explicit null turns the server's default off
        loras = generation.explicit_loras(fields.pop("loras", None), state.lora_dir)
        if loras:
            fields["loras"] = loras
        filled, prepared = state.prepare(fields, FIELDS)
        job = state.submit(filled, prepared, "native")
        return JSONResponse(job_status(state, job, request), status_code=202,
                            headers={"Location": str(request.url_for("get_job", job_id=job.id))})

    @routes.get("/jobs")
    async def list_jobs(request: Request) -> dict[str, Any]:
        """Every job kept (queued, running, and finished ones until they expire)."""
        return {"jobs": [job_status(state, job, request) for job in state.jobs.jobs()]}

    @routes.get("/jobs/{job_id}", name="get_job")
    async def get_job(job_id: str, request: Request) -> dict[str, Any]:
        """A job's state, progress and results."""
        return job_status(state, find(job_id), request)

    @routes.get("/jobs/{job_id}/preview", name="job_preview")
    async def job_preview(job_id: str) -> Response:
        """The newest preview (PNG) of a running job; 204 while there is none."""
        png = find(job_id).preview_png()
        if png is None:
            return Response(status_code=204)
        return Response(png, media_type="image/png", headers={"Cache-Control": "no-store"})

    @routes.get("/jobs/{job_id}/images/{index}", name="job_image")
    async def job_image(job_id: str, index: int, download: bool = False) -> Response:
        """Result image ``index`` (PNG with its parameters text)."""
        job = find(job_id)
        if job.result is None or not 0 <= index < len(job.result.images):
            raise ApiError(404, f"job {job_id} has no image {index}")
        disposition = "attachment" if download else "inline"
        return Response(job.result.images[index], media_type="image/png",
                        headers={"Content-Disposition": f'{disposition}; filename="sdcpp-{job_id[:8]}-{index}.png"'})

    @routes.post("/jobs/{job_id}/cancel")
    async def cancel(job_id: str, request: Request) -> dict[str, Any]:
        """Cancel a queued job at once, or a running one within one sampling step."""
        job = find(job_id)
        if job.state.finished:
            raise ApiError(409, f"job {job_id} already {job.state.value}")
        state.jobs.cancel(job)
        await job.wait(60.0)
        return job_status(state, job, request)

    @routes.delete("/jobs/{job_id}")
    async def delete(job_id: str) -> Response:
        """Cancel the job if it has not finished, and drop it with its results."""
        job = find(job_id)
        if not job.state.finished:
            state.jobs.cancel(job)
            await job.wait(60.0)
        state.jobs.forget(job)
        return Response(status_code=204)

    return routes

