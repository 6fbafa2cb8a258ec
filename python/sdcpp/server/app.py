"""``create_app(settings)``: the ASGI application (FastAPI) over one Context and one job queue."""
from __future__ import annotations

import contextlib
import logging
import resource
import sys
from pathlib import Path
from typing import Any, AsyncIterator, Optional

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

import sdcpp

from . import a1111, generation, native, openai
from .errors import ApiError, on_api_error, on_http_error, on_unexpected_error, on_validation_error
from .jobs import JobQueue, ensure_output_dir
from .security import ApiKeyMiddleware, BodyLimitMiddleware
from .settings import ServerSettings
from .state import ServerState

STATIC_DIR = Path(__file__).resolve().parent / "static"
logger = logging.getLogger("sdcpp.server")


def rss_bytes() -> int:
    """The server process's resident memory now (Linux), or its peak elsewhere."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * resource.getpagesize()
    except OSError:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return int(peak if sys.platform == "darwin" else peak * 1024)


def load_context(settings: ServerSettings) -> sdcpp.Context:
    """Load the model the settings name."""
    return sdcpp.Context(settings.model, **settings.context_options)


def create_app(settings: ServerSettings, context: Optional[sdcpp.Context] = None) -> FastAPI:
    """The server's ASGI app. The model is loaded at startup unless ``context`` is given (then
    the caller keeps owning it); the job queue's worker starts with the app and stops with it,
    cancelling what is queued and running."""
    state = ServerState(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = context is None
        state.context = load_context(settings) if context is None else context
        ensure_output_dir(settings.output_dir)
        queue = JobQueue(state.context, generation.run, max_queue=settings.max_queue,
                         result_ttl_s=settings.result_ttl_s, max_result_bytes=settings.max_result_bytes,
                         max_jobs_kept=settings.max_jobs_kept, output_dir=settings.output_dir)
        queue.start()
        state.job_queue = queue
        try:
            yield
        finally:
            queue.stop()
            if owned:
                state.context.close()

    # No /docs or /redoc: FastAPI's pages load their scripts from a CDN. /openapi.json stays.
    app = FastAPI(title="sdcpp-server", version=sdcpp.__version__, lifespan=lifespan, docs_url=None,
                  redoc_url=None, description="AUTOMATIC1111 and OpenAI image APIs, sdcpp jobs, DeepCache")
    app.state.sdcpp = state
    app.include_router(a1111.router(state))
    app.include_router(openai.router(state))
    app.include_router(native.router(state))
    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(Exception, on_unexpected_error)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})

    # Outermost last: CORS answers preflights, then the key is checked, then the body bounded.
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    if settings.api_key:
        app.add_middleware(ApiKeyMiddleware, api_key=settings.api_key)
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins), allow_methods=["*"],
                           allow_headers=["Authorization", "Content-Type"])
    return app


def server_state(app: Any) -> ServerState:
    """The :class:`ServerState` of an app made by :func:`create_app`."""
    state = app.state.sdcpp
    assert isinstance(state, ServerState)
    return state
