#!/usr/bin/env python
"""One sdcpp.Context per Ray Serve replica behind an HTTP endpoint.

    pip install "ray[serve]>=2.30"
    python examples/ray_serve.py --model sd15-q4_0.gguf --replicas 2 --threads-per-replica 4
    curl -s -X POST http://127.0.0.1:8000/generate -d '{"prompt": "a cat", "seed": 7}' -o cat.png

The request body is a JSON object with sdcpp.GenerationRequest's fields (sd-cli's names); the
answer is the PNG (with sd-cli's parameters text), or HTTP 400 with ``{"error": ...}`` naming the
bad field. Each replica loads the model once in ``__init__`` and takes one request at a time
(``max_ongoing_requests=1``): Serve queues the others and routes them to idle replicas. Serve's
HTTP proxy listens on 127.0.0.1:8000 unless ``--host``/``--port`` say otherwise; add ``--address``
to deploy onto a running cluster.
"""
from __future__ import annotations

import argparse
import asyncio
import io
import json
import sys
import time
from typing import Any, Optional, Sequence

import sdcpp

MAX_BODY_BYTES = 1 << 20


def build_app(model: str, replicas: int, threads: int) -> Any:
    """The Serve application: ``replicas`` copies of a deployment holding one Context each."""
    from ray import serve
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response

    @serve.deployment(num_replicas=replicas, max_ongoing_requests=1,
                      ray_actor_options={"num_cpus": threads})
    class ImageGenerator:
        def __init__(self, model: str, threads: int) -> None:
            self.context = sdcpp.Context(model, threads=threads)

        async def __call__(self, request: Request) -> Response:
            body = await request.body()
            if len(body) > MAX_BODY_BYTES:
                return JSONResponse({"error": f"body over {MAX_BODY_BYTES} bytes"}, status_code=413)
            try:
                fields = json.loads(body)
                generation = sdcpp.GenerationRequest.from_dict(fields)
                if generation.batch_count != 1:
                    raise sdcpp.InvalidArgument("batch_count must be 1: one request, one image")
            except json.JSONDecodeError as exc:
                return JSONResponse({"error": f"the body is not JSON: {exc}"}, status_code=400)
            except sdcpp.InvalidArgument as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
            try:
                # The engine releases the GIL; a thread keeps the replica's event loop answering.
                result = await asyncio.to_thread(self.context.generate, generation)
            except sdcpp.InvalidArgument as exc:  # checks that need the model (LoRA tags, depth)
                return JSONResponse({"error": str(exc)}, status_code=400)
            return Response(png_bytes(result), media_type="image/png",
                            headers={"X-Seed": str(result.seeds[0])})

    return ImageGenerator.bind(model, threads)  # type: ignore[attr-defined]


def png_bytes(result: sdcpp.GenerationResult) -> bytes:
    """The first image of ``result`` as PNG bytes with sd-cli's parameters text."""
    from PIL import Image, PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", result.parameters_text())
    buffer = io.BytesIO()
    Image.fromarray(result.images[0]).save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Deploy the application and serve until Ctrl-C."""
    parser = argparse.ArgumentParser(description="Serve sdcpp over HTTP with Ray Serve replicas.")
    parser.add_argument("--model", "-m", required=True, help="model file, at this path on every node")
    parser.add_argument("--replicas", type=int, default=1, help="Serve replicas, each with one Context")
    parser.add_argument("--threads-per-replica", type=int, default=1,
                        help="CPU threads of each Context, and the CPUs Ray reserves for each replica")
    parser.add_argument("--host", default="127.0.0.1", help="HTTP host (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="HTTP port (default 8000)")
    parser.add_argument("--address", default=None, help="join this Ray cluster; default: start Ray locally")
    args = parser.parse_args(argv)
    if args.replicas < 1 or args.threads_per_replica < 1:
        parser.error("--replicas and --threads-per-replica must be at least 1")

    import ray
    from ray import serve

    ray.init(address=args.address)
    serve.start(http_options={"host": args.host, "port": args.port})
    serve.run(build_app(args.model, args.replicas, args.threads_per_replica), name="sdcpp",
              route_prefix="/generate")
    print(f"serving on http://{args.host}:{args.port}/generate (Ctrl-C stops)", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        serve.shutdown()  # type: ignore[no-untyped-call]
    return 0


if __name__ == "__main__":
    sys.exit(main())
