"""HTTP errors: one exception type for the routes and the three response shapes (A1111/FastAPI
``detail``, OpenAI ``error``) chosen by the request's path."""
from __future__ import annotations

import json
import logging
import re
from typing import Any, Mapping, Optional, Sequence

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

logger = logging.getLogger("sdcpp.server")

OPENAI_PREFIX = "/v1/"
_OPENAI_TYPES = {400: "invalid_request_error", 401: "invalid_request_error", 404: "invalid_request_error",
                 413: "invalid_request_error", 422: "invalid_request_error", 429: "rate_limit_exceeded",
                 503: "server_error"}
_OPENAI_CODES = {401: "invalid_api_key", 404: "not_found", 413: "request_too_large", 429: "rate_limit_exceeded",
                 503: "service_unavailable"}


class ApiError(Exception):
    """An error answered to the client: HTTP ``status``, a message, the offending ``field``."""

    def __init__(self, status: int, message: str, field: Optional[str] = None, code: Optional[str] = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field
        self.code = code


def field_in_message(message: str, names: Mapping[str, str]) -> Optional[str]:
    """The client-facing field an sdcpp error message names.

    sdcpp's messages name the keyword first ("steps must be ...", "unknown sampling method ...");
    ``names`` maps sdcpp keyword names to the API's names. The earliest mention wins.
    """
    clause = message.split(":")[0].lower()
    best: Optional[tuple[int, int, str]] = None
    for ours, theirs in names.items():
        for spoken in {ours, ours.replace("_", " ")}:
            match = re.search(rf"(?<![\w]){re.escape(spoken)}(?![\w])", clause)
            if match is not None:
                key = (match.start(), -len(spoken), theirs)
                if best is None or key < best:
                    best = key
    return None if best is None else best[2]


def is_openai(path: str) -> bool:
    """True for OpenAI-compatible endpoints (their errors use OpenAI's shape)."""
    return path.startswith(OPENAI_PREFIX)


def openai_body(status: int, message: str, param: Optional[str], code: Optional[str]) -> dict[str, Any]:
    """OpenAI's error object."""
    return {"error": {"message": message, "type": _OPENAI_TYPES.get(status, "server_error" if status >= 500
                                                                    else "invalid_request_error"),
                      "param": param, "code": code or _OPENAI_CODES.get(status)}}


def error_response(path: str, status: int, message: str, field: Optional[str] = None,
                   code: Optional[str] = None, headers: Optional[Mapping[str, str]] = None) -> JSONResponse:
    """The error in the shape the endpoint's clients expect."""
    if is_openai(path):
        status = 400 if status == 422 else status  # OpenAI answers 400 for every invalid request
        body: Any = openai_body(status, message, field, code)
    elif field is not None:
        body = {"detail": [{"loc": ["body", field], "msg": message, "type": code or "value_error"}]}
    else:
        body = {"detail": message}
    return JSONResponse(body, status_code=status, headers=dict(headers or {}))


def _loc_name(loc: Sequence[Any]) -> Optional[str]:
    parts = [str(part) for part in loc if part not in ("body", "query", "path", "form")]
    return ".".join(parts) if parts else None


async def on_api_error(request: Request, error: Exception) -> JSONResponse:
    """Exception handler for :class:`ApiError`."""
    assert isinstance(error, ApiError)
    return error_response(request.url.path, error.status, error.message, error.field, error.code)


async def on_validation_error(request: Request, error: Exception) -> JSONResponse:
    """422 naming the field (FastAPI/A1111 style); OpenAI endpoints answer 400 in OpenAI's shape."""
    assert isinstance(error, RequestValidationError)
    errors = list(error.errors())
    if is_openai(request.url.path):
        first = errors[0] if errors else {}
        param = _loc_name(first.get("loc", ()))
        message = str(first.get("msg", "invalid request"))
        if first.get("type") == "json_invalid":
            param, message = None, "the request body is not valid JSON"
        return JSONResponse(openai_body(400, f"{param}: {message}" if param else message, param, None),
                            status_code=400)
    clean = []
    for item in errors:
        entry = {"loc": list(item.get("loc", ())), "msg": str(item.get("msg", "")), "type": item.get("type", "")}
        if "input" in item and item.get("type") != "json_invalid":
            try:
                json.dumps(item["input"])
                entry["input"] = item["input"]
            except (TypeError, ValueError):
                pass
        clean.append(entry)
    return JSONResponse({"detail": clean}, status_code=422)


async def on_http_error(request: Request, error: Exception) -> JSONResponse:
    """Starlette's HTTP errors (404, 405, ...) in the endpoint's shape."""
    assert isinstance(error, StarletteHTTPException)
    return error_response(request.url.path, error.status_code, str(error.detail), headers=error.headers)


async def on_unexpected_error(request: Request, error: Exception) -> JSONResponse:
    """Last resort: log the bug, answer 500 without details."""
    logger.error("unexpected error on %s %s", request.method, request.url.path, exc_info=error)
    return error_response(request.url.path, 500, "internal server error", code="internal_error")
