"""What the routes share: settings, the loaded model's facts, the job queue, and the helpers that
submit a job and wait for it on behalf of a synchronous endpoint."""
from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any, Mapping, Optional

from fastapi import Request

import sdcpp

from . import generation
from .errors import ApiError, field_in_message
from .jobs import Job, JobQueue, JobState, QueueFull, ShuttingDown
from .settings import ServerSettings


class ClientGone(Exception):
    """The client disconnected while its job ran; the job was cancelled."""


@dataclasses.dataclass
class ServerState:
    """The server's shared objects (one per app)."""

    settings: ServerSettings
    context: Optional[sdcpp.Context] = None
    job_queue: Optional[JobQueue] = None
    started: float = dataclasses.field(default_factory=time.time)

    @property
    def jobs(self) -> JobQueue:
        """The job queue; 503 before startup finished."""
        if self.job_queue is None:
            raise ApiError(503, "the model is still loading")
        return self.job_queue

    @property
    def lora_dir(self) -> Optional[Path]:
        """The configured LoRA directory."""
        return generation.lora_dir(self.settings)

    def model_names(self) -> set[str]:
        """Names that refer to the served model (file name, stem)."""
        name = self.settings.model_name
        return {name, Path(name).stem}

    def prepare(self, fields: dict[str, Any], names: Mapping[str, str]) -> tuple[dict[str, Any], Any]:
        """Defaults, limits, LoRA names and (when the library can) validation of ``fields``;
        errors name the API's field through ``names`` (sdcpp name -> API name)."""
        try:
            filled = generation.apply_defaults(fields, self.settings)
            generation.check_limits(filled, self.settings)
            generation.check_prompt_loras(filled.get("prompt"), self.lora_dir)
            generation.check_prompt_loras(filled.get("negative_prompt"), self.lora_dir, "negative_prompt")
            return filled, generation.prepare(filled)
        except ApiError as error:
            raise ApiError(error.status, error.message, names.get(error.field or "", error.field), error.code) from None
        except sdcpp.InvalidArgument as error:
            raise invalid(error, names) from None

    def submit(self, fields: dict[str, Any], request: Any, origin: str) -> Job:
        """Queue a job; a full queue answers 429, a stopping server 503."""
        try:
            return self.jobs.submit(request, fields, origin)
        except QueueFull as error:
            raise ApiError(429, f"{error}; try again later", code="queue_full") from None
        except ShuttingDown as error:
            raise ApiError(503, str(error), code="shutting_down") from None

    async def wait(self, job: Job, request: Request) -> Job:
        """Wait for ``job``; cancel it when the client disconnects (then :class:`ClientGone`)."""
        try:
            while not await job.wait(0.5):
                if await request.is_disconnected():
                    self.jobs.cancel(job)
                    await job.wait(60.0)
                    self.jobs.forget(job)
                    raise ClientGone(job.id)
        except BaseException:
            if not job.state.finished:
                self.jobs.cancel(job)
            raise
        return job

    def raise_failure(self, job: Job, names: Mapping[str, str]) -> None:
        """Turn a failed job into the HTTP error it deserves."""
        if job.state is JobState.FAILED and job.failure is not None:
            if job.failure.kind == "invalid_argument":
                raise ApiError(422, job.failure.message, field_in_message(job.failure.message, names))
            raise ApiError(500, job.failure.message, code=job.failure.kind)


def invalid(error: sdcpp.InvalidArgument, names: Mapping[str, str]) -> ApiError:
    """sdcpp's InvalidArgument as a 422 naming the API's field."""
    message = str(error)
    return ApiError(422, message, field_in_message(message, names))
