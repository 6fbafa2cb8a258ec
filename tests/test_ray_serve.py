"""examples/ray_serve.py: one Context per Ray Serve replica behind HTTP on 127.0.0.1.

Runs the example as a subprocess (a local Ray cluster, one replica), sends three requests to it
and stops it with Ctrl-C (SIGINT), all bounded in time.
"""
from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest

pytest.importorskip("ray.serve", reason="Ray Serve is optional: pip install 'ray[serve]'")

import sdcpp  # noqa: E402
from PIL import Image  # noqa: E402

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "ray_serve.py"
START_TIMEOUT_S = 300
REQUEST = {"prompt": "a lighthouse at dusk", "seed": 21, "width": 64, "height": 64, "steps": 2}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    def __init__(self, process: subprocess.Popen[str], port: int, log: Path) -> None:
        self.process = process
        self.url = f"http://127.0.0.1:{port}/generate"
        self.log = log

    def post(self, body: bytes) -> tuple[int, bytes, str]:
        request = urllib.request.Request(self.url, data=body, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=240) as answer:
                return answer.status, answer.read(), answer.headers.get("Content-Type", "")
        except urllib.error.HTTPError as error:
            return error.code, error.read(), error.headers.get("Content-Type", "")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, sd15_model: Path) -> Iterator[Server]:
    port = _free_port()
    log = tmp_path_factory.mktemp("ray-serve") / "serve.log"
    env = {key: value for key, value in os.environ.items() if key != "RAY_ADDRESS"}
    with log.open("w") as out:
        process = subprocess.Popen([sys.executable, os.fspath(EXAMPLE), "--model", os.fspath(sd15_model),
                                    "--replicas", "1", "--threads-per-replica", "1", "--port", str(port)],
                                   stdout=out, stderr=subprocess.STDOUT, text=True, env=env)
    deadline = time.monotonic() + START_TIMEOUT_S
    while "serving on" not in log.read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            process.wait(30)
            pytest.fail(f"ray_serve.py did not start:\n{log.read_text()[-4000:]}")
        time.sleep(1)
    try:
        yield Server(process, port, log)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(90)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(30)


def test_replica_answers_a_png_equal_to_a_plain_context(server: Server, context: sdcpp.Context) -> None:
    status, body, content_type = server.post(json.dumps(REQUEST).encode())
    assert status == 200 and content_type == "image/png", body[:500]
    with Image.open(io.BytesIO(body)) as png:
        pixels = np.asarray(png.convert("RGB"))
        parameters = png.info.get("parameters", "")
    expected = context.generate(sdcpp.GenerationRequest.from_dict(REQUEST))
    assert np.array_equal(pixels, expected.images[0])
    assert "a lighthouse at dusk" in parameters and "Seed: 21" in parameters


@pytest.mark.parametrize("body, field", [({"prompt": "a cat", "steps": "many"}, "steps"),
                                         ({"prompt": "a cat", "stepz": 2}, "stepz")])
def test_bad_field_is_a_400_naming_it(server: Server, body: dict[str, object], field: str) -> None:
    status, answer, content_type = server.post(json.dumps(body).encode())
    assert status == 400 and content_type == "application/json"
    assert field in json.loads(answer)["error"]


def test_body_that_is_not_json_is_a_400(server: Server) -> None:
    status, answer, _ = server.post(b"{not json")
    assert status == 400 and "not JSON" in json.loads(answer)["error"]


def test_ctrl_c_stops_the_server(server: Server) -> None:
    server.process.send_signal(signal.SIGINT)
    assert server.process.wait(90) == 0
