"""The job queue: one worker thread runs one generation at a time on one Context.

Jobs wait in a bounded queue (a full queue raises :class:`QueueFull`, answered 429), can be
cancelled while queued or running (running: :meth:`sdcpp.Context.cancel`, which stops within one
sampling step), report progress with a preview, and keep their results (PNG bytes) for a bounded
time and memory.
"""
from __future__ import annotations

import asyncio
import collections
import dataclasses
import enum
import logging
import os
import secrets
import threading
import time
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

import sdcpp

from .codec import encode_png

logger = logging.getLogger("sdcpp.server")


class QueueFull(Exception):
    """The queue holds its maximum number of waiting jobs."""


class ShuttingDown(Exception):
    """The server is stopping and takes no new jobs."""


class JobState(str, enum.Enum):
    """Where a job is in its life."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        """True once the job will not change any more."""
        return self in (JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED)


@dataclasses.dataclass(frozen=True)
class JobFailure:
    """Why a job failed: ``kind`` is ``"invalid_argument"`` (the client's fault) or
    ``"generation_error"``; ``message`` is sdcpp's message."""

    kind: str
    message: str


@dataclasses.dataclass(frozen=True)
class JobResult:
    """A finished job's images (PNG bytes with their ``parameters`` text) and what was used."""

    images: list[bytes]
    seeds: list[int]
    params: dict[str, Any]
    infotexts: list[str]
    cache_stats: sdcpp.CacheStats

    @property
    def nbytes(self) -> int:
        """Memory held by the encoded images."""
        return sum(len(image) for image in self.images)


Generate = Callable[[sdcpp.Context, Any, Callable[[int, int, float], None],
                     Callable[[int, "list[np.ndarray]", bool], None]], sdcpp.GenerationResult]
"""Runs one prepared request on the Context with progress and preview callbacks."""


class Job:
    """One generation request and its state (read from any thread, written by the worker)."""

    def __init__(self, request: Any, fields: dict[str, Any], origin: str) -> None:
        self.id = secrets.token_hex(16)
        self.request = request
        self.fields = fields
        self.origin = origin
        self.created = time.time()
        self.started: Optional[float] = None
        self.finished: Optional[float] = None
        self.state = JobState.QUEUED
        self.step = 0
        self.steps = int(fields.get("steps", 0) or 0)
        self.images_total = int(fields.get("batch_count", 1) or 1)
        self.image_index = 0
        self.seconds_per_step = 0.0
        self.result: Optional[JobResult] = None
        self.failure: Optional[JobFailure] = None
        self.cancel_requested = False
        self._preview: Optional[np.ndarray] = None
        self._preview_png: Optional[bytes] = None
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []

    # -- progress -------------------------------------------------------------------------------

    @property
    def fraction(self) -> float:
        """Progress over all images of the job, 0..1."""
        if self.state is JobState.SUCCEEDED:
            return 1.0
        total = max(self.steps, 1) * max(self.images_total, 1)
        return min(1.0, (self.image_index * max(self.steps, 1) + self.step) / total)

    @property
    def eta_seconds(self) -> float:
        """Estimated seconds left (0 before the first step and once finished)."""
        if self.state is not JobState.RUNNING or self.seconds_per_step <= 0:
            return 0.0
        left = (self.images_total - self.image_index - 1) * self.steps + (self.steps - self.step)
        return max(0.0, left * self.seconds_per_step)

    def on_progress(self, step: int, steps: int, seconds_per_step: float) -> None:
        """sdcpp's progress callback; raising here stops the generation (a cancel that arrived
        before the engine call started)."""
        if self.cancel_requested:
            raise sdcpp.GenerationCancelled("job cancelled")
        if step < self.step:
            self.image_index = min(self.image_index + 1, self.images_total - 1)
        self.step, self.steps = step, steps
        if seconds_per_step > 0:
            self.seconds_per_step = seconds_per_step

    def on_preview(self, step: int, images: list[np.ndarray], is_noisy: bool) -> None:
        """sdcpp's preview callback: keeps the newest preview (encoded only when asked for)."""
        if self.cancel_requested:
            raise sdcpp.GenerationCancelled("job cancelled")
        if images:
            with self._lock:
                self._preview = images[0]
                self._preview_png = None

    def preview_png(self) -> Optional[bytes]:
        """The newest preview as PNG bytes, or None before the first one."""
        with self._lock:
            if self._preview_png is None and self._preview is not None:
                self._preview_png = encode_png(self._preview)
            return self._preview_png

    # -- completion -----------------------------------------------------------------------------

    def _finish(self, state: JobState) -> None:
        with self._lock:
            self.state = state
            self.finished = time.time()
            self._preview = None
            self._preview_png = None
            waiters, self._waiters = self._waiters, []
        self._done.set()
        for loop, future in waiters:
            try:
                loop.call_soon_threadsafe(_resolve, future)
            except RuntimeError:  # the loop is closed: nobody is waiting any more
                pass

    async def wait(self, timeout: Optional[float] = None) -> bool:
        """Wait (asynchronously) until the job is finished; False on timeout."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._lock:
            if self.state.finished:
                return True
            self._waiters.append((loop, future))
        try:
            await asyncio.wait_for(asyncio.shield(future), timeout)
            return True
        except asyncio.TimeoutError:
            return False
        finally:
            with self._lock:
                if (loop, future) in self._waiters:
                    self._waiters.remove((loop, future))

    def wait_blocking(self, timeout: Optional[float] = None) -> bool:
        """Wait (blocking the thread) until the job is finished; False on timeout."""
        return self._done.wait(timeout)


def _resolve(future: "asyncio.Future[None]") -> None:
    if not future.done():
        future.set_result(None)


class JobQueue:
    """A bounded FIFO of jobs and the one worker thread that runs them on ``context``."""

    def __init__(self, context: sdcpp.Context, generate: Generate, *, max_queue: int, result_ttl_s: float,
                 max_result_bytes: int, max_jobs_kept: int, output_dir: Optional[str] = None) -> None:
        self._context = context
        self._generate = generate
        self._max_queue = max_queue
        self._ttl = result_ttl_s
        self._max_bytes = max_result_bytes
        self._max_kept = max_jobs_kept
        self._output_dir = None if output_dir is None else Path(output_dir)
        self._queue: collections.deque[Job] = collections.deque()
        self._jobs: dict[str, Job] = {}
        self._finished: collections.OrderedDict[str, Job] = collections.OrderedDict()
        self._running: Optional[Job] = None
        self._condition = threading.Condition()
        self._stopping = False
        self._worker = threading.Thread(target=self._work, name="sdcpp-server-worker", daemon=True)
        self.completed = 0
        """How many jobs finished since start (any final state)."""

    def start(self) -> None:
        """Start the worker thread."""
        self._worker.start()

    # -- client side ----------------------------------------------------------------------------

    def submit(self, request: Any, fields: dict[str, Any], origin: str) -> Job:
        """Queue a job; raises :class:`QueueFull` or :class:`ShuttingDown`."""
        job = Job(request, fields, origin)
        with self._condition:
            if self._stopping:
                raise ShuttingDown("the server is shutting down")
            if len(self._queue) >= self._max_queue:
                raise QueueFull(f"the queue is full ({self._max_queue} jobs waiting)")
            self._queue.append(job)
            self._jobs[job.id] = job
            self._condition.notify()
        return job

    def get(self, job_id: str) -> Optional[Job]:
        """The job with this id, or None (unknown or expired)."""
        with self._condition:
            self._expire()
            return self._jobs.get(job_id)

    def jobs(self) -> list[Job]:
        """Every known job, oldest first."""
        with self._condition:
            self._expire()
            return sorted(self._jobs.values(), key=lambda job: job.created)

    def position(self, job: Job) -> Optional[int]:
        """0-based place of a queued job in the queue (None when not queued)."""
        with self._condition:
            try:
                return self._queue.index(job)
            except ValueError:
                return None

    @property
    def running(self) -> Optional[Job]:
        """The job generating now, if any."""
        return self._running

    @property
    def queued(self) -> int:
        """Jobs waiting behind the running one."""
        return len(self._queue)

    def cancel(self, job: Job) -> None:
        """Cancel a queued job (at once) or the running one (within one sampling step)."""
        with self._condition:
            job.cancel_requested = True
            if job in self._queue:
                self._queue.remove(job)
                self._record_finished(job, JobState.CANCELLED)
            elif self._running is job:
                # Under the lock, so the worker cannot have moved on to another job.
                self._context.cancel()

    def interrupt(self) -> Optional[Job]:
        """Cancel the running job (A1111's interrupt); returns it, or None when idle."""
        job = self._running
        if job is not None:
            self.cancel(job)
        return job

    def forget(self, job: Job) -> None:
        """Drop a finished job and its results (synchronous endpoints, once answered)."""
        with self._condition:
            if job.state.finished:
                self._jobs.pop(job.id, None)
                self._finished.pop(job.id, None)

    def stop(self, timeout: float = 30.0) -> None:
        """Refuse new jobs, cancel the queued and running ones, wait for the worker."""
        self.cancel_all()
        if self._worker.is_alive():
            self._worker.join(timeout)

    def cancel_all(self) -> None:
        """Refuse new jobs and cancel the queued and running ones; returns at once (signal-safe)."""
        with self._condition:
            self._stopping = True
            waiting = list(self._queue)
            self._queue.clear()
            for job in waiting:
                job.cancel_requested = True
                self._record_finished(job, JobState.CANCELLED)
            running = self._running
            self._condition.notify_all()
            if running is not None:
                running.cancel_requested = True
                self._context.cancel()

    def stats(self) -> dict[str, Any]:
        """Queue and memory figures (for /sdcpp/v1/info and the load script)."""
        with self._condition:
            self._expire()
            return {"running": 0 if self._running is None else 1, "queued": len(self._queue),
                    "max_queue": self._max_queue, "jobs_kept": len(self._jobs),
                    "result_bytes": sum(job.result.nbytes for job in self._finished.values()
                                        if job.result is not None),
                    "completed": self.completed}

    # -- worker ---------------------------------------------------------------------------------

    def _work(self) -> None:
        while True:
            with self._condition:
                while not self._queue and not self._stopping:
                    self._condition.wait()
                if self._stopping:
                    return
                job = self._queue.popleft()
                self._running = job
                job.state = JobState.RUNNING
                job.started = time.time()
            try:
                state = self._run(job)
            finally:
                with self._condition:
                    self._running = None
            with self._condition:
                self._record_finished(job, state)

    def _run(self, job: Job) -> JobState:
        if job.cancel_requested:
            return JobState.CANCELLED
        try:
            result = self._generate(self._context, job.request, job.on_progress, job.on_preview)
        except sdcpp.GenerationCancelled:
            return JobState.CANCELLED
        except sdcpp.InvalidArgument as error:
            job.failure = JobFailure("invalid_argument", str(error))
            return JobState.FAILED
        except sdcpp.SdcppError as error:
            logger.warning("job %s failed: %s", job.id, error)
            job.failure = JobFailure("generation_error", str(error))
            return JobState.FAILED
        except Exception as error:  # a bug: keep serving, tell the client
            logger.error("job %s crashed", job.id, exc_info=error)
            job.failure = JobFailure("internal_error", "internal error while generating")
            return JobState.FAILED
        if job.cancel_requested:
            return JobState.CANCELLED
        infotexts = [result.parameters_text(index) for index in range(len(result.images))]
        pngs = [encode_png(np.asarray(image), text) for image, text in zip(result.images, infotexts)]
        job.result = JobResult(pngs, list(result.seeds), dict(result.params), infotexts, result.cache_stats)
        if self._output_dir is not None:
            for index in range(len(result.images)):
                result.save(self._output_dir / f"{job.id}-{index}.png", index)
        return JobState.SUCCEEDED

    def _record_finished(self, job: Job, state: JobState) -> None:
        # Called with the condition held.
        job._finish(state)
        self.completed += 1
        self._finished[job.id] = job
        self._expire()

    def _expire(self) -> None:
        # Called with the condition held: drop finished jobs past their time, beyond the count
        # limit, or beyond the memory budget (oldest first).
        now = time.time()
        held = sum(job.result.nbytes for job in self._finished.values() if job.result is not None)
        while self._finished:
            job_id, job = next(iter(self._finished.items()))
            expired = job.finished is not None and now - job.finished > self._ttl
            if not (expired or len(self._finished) > self._max_kept or held > self._max_bytes):
                break
            self._finished.popitem(last=False)
            self._jobs.pop(job_id, None)
            if job.result is not None:
                held -= job.result.nbytes


def ensure_output_dir(path: Optional[str]) -> None:
    """Create the output directory when one is configured."""
    if path is not None:
        os.makedirs(path, exist_ok=True)
