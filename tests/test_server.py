"""sdcpp-server against a real server process on a free loopback port, with httpx.

One server for the module (64x64, 2 steps, cfg 1 by default; a queue of one waiting job so that
"queue full" is cheap to reach). Generations are few: every test that needs one says why.
"""
from __future__ import annotations

import base64
import io
import json
import socket
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

from server_support import FAST, ServerProcess, decode_png, png_b64, wait_for  # noqa: E402

LONG = 200  # steps of a job that is cancelled long before it could finish


@pytest.fixture(scope="module")
def lora_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("loras")
    (directory / "style.safetensors").write_bytes(b"not loaded by these tests")
    (tmp_path_factory.getbasetemp() / "secret.safetensors").write_bytes(b"outside the LoRA directory")
    return directory


@pytest.fixture(scope="module")
def server(sd15_model: Path, lora_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    log = tmp_path_factory.mktemp("server") / "server.log"
    process = ServerProcess(sd15_model, ["--max-queue", "1", "--max-body-bytes", str(2 * 1024 * 1024),
                                         "--max-image-pixels", str(1024 * 1024), "--lora-model-dir", str(lora_dir)],
                            log_path=log)
    try:
        process.wait_ready()
        yield process
    finally:
        status = process.stop()
    assert status == 0, process.log()


@pytest.fixture()
def client(server: ServerProcess) -> Iterator[Any]:
    with httpx.Client(base_url=server.url, timeout=300.0) as http:
        yield http


def job_state(client: Any, job_id: str) -> dict[str, Any]:
    response = client.get(f"/sdcpp/v1/jobs/{job_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def wait_finished(client: Any, job_id: str, timeout: float = 240.0) -> dict[str, Any]:
    finished = ("succeeded", "failed", "cancelled")
    return wait_for(lambda: (lambda s: s if s["state"] in finished else None)(job_state(client, job_id)), timeout)  # type: ignore[no-any-return]


def wait_running(client: Any, job_id: str) -> dict[str, Any]:
    """Until the job has made at least one sampling step (so a preview exists)."""
    return wait_for(lambda: (lambda s: s if s["state"] == "running" and s["progress"]["step"] >= 1 else None)(  # type: ignore[no-any-return]
        job_state(client, job_id)), 240.0)


def png_parameters(data: bytes) -> str:
    from PIL import Image

    image = Image.open(io.BytesIO(data))
    return str(image.info.get("parameters", ""))


def detail_fields(response: Any) -> list[str]:
    return [".".join(str(part) for part in item["loc"][1:]) for item in response.json()["detail"]]


# -- discovery (no generation) ----------------------------------------------------------------------

def test_a1111_discovery_endpoints(client: Any, sd15_model: Path) -> None:
    samplers = client.get("/sdapi/v1/samplers").json()
    euler_a = next(entry for entry in samplers if entry["name"] == "Euler a")
    assert "euler_a" in euler_a["aliases"] and "k_euler_a" in euler_a["aliases"]
    schedulers = {entry["name"]: entry["label"] for entry in client.get("/sdapi/v1/schedulers").json()}
    assert schedulers["automatic"] == "Automatic" and schedulers["karras"] == "Karras"
    models = client.get("/sdapi/v1/sd-models").json()
    assert [m["title"] for m in models] == [sd15_model.name]
    assert client.get("/sdapi/v1/options").json()["sd_model_checkpoint"] == sd15_model.name
    loras = client.get("/sdapi/v1/loras").json()
    assert [(lora["name"], lora["path"]) for lora in loras] == [("style", "style.safetensors")]  # no absolute path
    upscalers = [u["name"] for u in client.get("/sdapi/v1/upscalers").json()]
    assert "Latent" in upscalers and "Lanczos" in upscalers and "Model" not in upscalers


def test_openai_models_and_native_info(client: Any, sd15_model: Path) -> None:
    models = client.get("/v1/models").json()
    assert models["object"] == "list" and models["data"][0]["id"] == sd15_model.name
    info = client.get("/sdcpp/v1/info").json()
    assert "euler_a" in info["sampling_methods"] and "karras" in info["schedulers"]
    assert info["deepcache_max_depth"] == 11 and info["defaults"]["steps"] == 2
    assert info["queue"]["max_queue"] == 1 and info["loras"] == ["style"]


def test_page_and_its_files_are_served(client: Any) -> None:
    page = client.get("/")
    assert page.status_code == 200 and 'id="prompt"' in page.text and "/static/app.js" in page.text
    assert "http" not in page.text.replace("http-equiv", "")  # no CDN: everything comes from this server
    for name, kind in (("app.js", "javascript"), ("style.css", "css")):
        response = client.get(f"/static/{name}")
        assert response.status_code == 200 and kind in response.headers["content-type"]


# -- bad input (no generation, or one that fails before the engine runs) -------------------------

def test_malformed_json_and_wrong_types_name_the_field(client: Any) -> None:
    broken = client.post("/sdapi/v1/txt2img", content=b'{"prompt": "a cat",', headers={"Content-Type": "application/json"})
    assert broken.status_code == 422 and broken.json()["detail"][0]["type"] == "json_invalid"
    wrong = client.post("/sdapi/v1/txt2img", json={"prompt": "a cat", "steps": "many", "cfg_scale": [1]})
    assert wrong.status_code == 422 and set(detail_fields(wrong)) == {"steps", "cfg_scale"}
    sampler = client.post("/sdapi/v1/txt2img", json={"prompt": "a cat", "sampler_name": "Euler z"})
    assert sampler.status_code == 422 and detail_fields(sampler) == ["sampler_name"]
    assert "Euler a" in sampler.json()["detail"][0]["msg"]
    unsupported = client.post("/sdapi/v1/txt2img", json={"prompt": "a cat", "subseed_strength": 0.5})
    assert unsupported.status_code == 422 and detail_fields(unsupported) == ["subseed_strength"]
    # A value only the library can judge (sizes are multiples of 8): still a 422 naming it.
    odd = client.post("/sdapi/v1/txt2img", json={"prompt": "a cat", "width": 65, **{"steps": 2}})
    assert odd.status_code == 422 and detail_fields(odd) == ["width"]
    native = client.post("/sdcpp/v1/jobs", json={"prompt": "a cat", "stepz": 3})
    assert native.status_code == 422 and detail_fields(native) == ["stepz"]
    strict = client.post("/sdcpp/v1/jobs", json={"prompt": "a cat", "steps": True, "hires": 1, "seed": "5"})
    assert strict.status_code == 422 and set(detail_fields(strict)) == {"steps", "hires", "seed"}
    for body in ([1, 2], "a cat", None):
        assert client.post("/sdcpp/v1/jobs", json=body).status_code == 422


def test_openai_errors_have_openai_shape(client: Any) -> None:
    cases = [
        (client.post("/v1/images/generations", content=b"{nope", headers={"Content-Type": "application/json"}), None),
        (client.post("/v1/images/generations", json={"prompt": "a cat", "n": 0}), "n"),
        (client.post("/v1/images/generations", json={"prompt": "a cat", "size": "huge"}), "size"),
        (client.post("/v1/images/generations", json={"prompt": "a cat", "quality_level": 3}), "quality_level"),
        (client.post("/v1/images/generations", json={"n": 1}), "prompt"),
        (client.post("/v1/images/generations", json={"prompt": "a cat", "stream": True}), "stream"),
    ]
    for response, param in cases:
        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert set(error) == {"message", "type", "param", "code"} and error["type"] == "invalid_request_error"
        assert error["param"] == param, error
    unknown = client.post("/v1/images/generations", json={"prompt": "a cat", "model": "../../models/other.gguf"})
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "model_not_found"
    no_image = client.post("/v1/images/edits", data={"prompt": "a cat"})
    assert no_image.status_code == 400 and no_image.json()["error"]["param"] == "image"


def test_oversized_bodies_and_images_are_refused(client: Any) -> None:
    big = client.post("/sdapi/v1/txt2img", content=b"x" * (3 * 1024 * 1024), headers={"Content-Type": "application/json"})
    assert big.status_code == 413 and "limit" in big.json()["detail"]
    big_openai = client.post("/v1/images/generations", content=b"x" * (3 * 1024 * 1024),
                             headers={"Content-Type": "application/json"})
    assert big_openai.status_code == 413 and big_openai.json()["error"]["code"] == "request_too_large"
    # 2048x2048 pixels compress to a few kB of PNG: the pixel limit must refuse it before decoding.
    huge = png_b64(np.zeros((2048, 2048, 3), dtype=np.uint8))
    assert len(huge) < 2 * 1024 * 1024
    response = client.post("/sdapi/v1/img2img", json={"prompt": "a cat", "init_images": [huge]})
    assert response.status_code == 413 and detail_fields(response) == ["init_images"]
    garbage = client.post("/sdapi/v1/img2img", json={"prompt": "a cat", "init_images": ["bm90IGFuIGltYWdl"]})
    assert garbage.status_code == 422 and detail_fields(garbage) == ["init_images"]
    too_large_output = client.post("/sdapi/v1/txt2img", json={"prompt": "a cat", "width": 4096, "height": 4096})
    assert too_large_output.status_code == 422 and detail_fields(too_large_output) == ["width"]


def test_path_traversal_is_refused(client: Any) -> None:
    for prompt in ("a cat <lora:../secret:1>", "a cat <lora:/etc/passwd:1>", "a cat <lora:..\\secret:0.5>"):
        response = client.post("/sdapi/v1/txt2img", json={"prompt": prompt})
        assert response.status_code == 422 and detail_fields(response) == ["prompt"], response.text
    native = client.post("/sdcpp/v1/jobs", json={"prompt": "a cat", "loras": {"../secret": 1.0}})
    assert native.status_code == 422 and detail_fields(native) == ["loras"]
    checkpoint = client.post("/sdapi/v1/txt2img", json={"prompt": "a cat",
                                                         "override_settings": {"sd_model_checkpoint": "../../etc/passwd"}})
    assert checkpoint.status_code == 422 and detail_fields(checkpoint) == ["override_settings.sd_model_checkpoint"]
    options = client.post("/sdapi/v1/options", json={"sd_model_checkpoint": "/etc/passwd"})
    assert options.status_code == 422
    upscaler = client.post("/sdapi/v1/txt2img", json={"prompt": "a cat", "enable_hr": True, "hr_upscaler": "/etc/passwd"})
    assert upscaler.status_code == 422 and detail_fields(upscaler) == ["hr_upscaler"]
    for path in ("/sdcpp/v1/jobs/..%2F..%2Fetc%2Fpasswd", "/static/..%2F..%2Fserver%2Fapp.py", "/static/../app.py"):
        assert client.get(path).status_code == 404, path


def test_cors_is_off_by_default(client: Any) -> None:
    response = client.get("/sdapi/v1/samplers", headers={"Origin": "http://elsewhere.test"})
    assert response.status_code == 200 and "access-control-allow-origin" not in response.headers


# -- generations ---------------------------------------------------------------------------------

def test_a1111_txt2img_with_deepcache_reports_stats_in_info(client: Any) -> None:
    response = client.post("/sdapi/v1/txt2img", json={"prompt": "a lighthouse", "seed": 7, "deepcache": "2,0",
                                                      "sampler_name": "Euler", "scheduler": "Karras", **FAST})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"images", "parameters", "info"} and isinstance(body["info"], str)
    image = decode_png(body["images"][0])
    assert image.size == (64, 64) and "Seed: 7" in image.info["parameters"]
    info = json.loads(body["info"])
    assert info["seed"] == 7 and info["all_seeds"] == [7] and info["steps"] == 2
    assert info["sampler_name"] == "Euler" and info["scheduler"] == "karras"
    assert info["cache_stats"] == {"full_evaluations": 1, "reused_evaluations": 1}
    assert info["extra_generation_params"]["DeepCache"] == "2,0,0,-1"
    assert body["parameters"]["prompt"] == "a lighthouse" and body["parameters"]["seed"] == 7


def test_a1111_img2img_inpaints_at_the_requested_size(client: Any) -> None:
    init = np.random.default_rng(0).integers(0, 256, (48, 80, 3), dtype=np.uint8)  # resized to 64x64
    mask = np.zeros((48, 80), dtype=np.uint8)
    mask[:, 40:] = 255
    response = client.post("/sdapi/v1/img2img", json={
        "prompt": "a cat", "init_images": [png_b64(init)], "mask": png_b64(mask), "denoising_strength": 0.5,
        "mask_blur": 0, "seed": 3, "include_init_images": True, **FAST})
    assert response.status_code == 200, response.text
    body = response.json()
    assert len(body["images"]) == 2  # the result, then the init image (include_init_images)
    assert decode_png(body["images"][0]).size == (64, 64)
    info = json.loads(body["info"])
    assert info["denoising_strength"] == 0.5 and info["seed"] == 3


def test_openai_generation_with_url_response_and_deepcache_object(client: Any) -> None:
    response = client.post("/v1/images/generations", json={
        "prompt": "a cat", "n": 1, "size": "64x64", "response_format": "url", "model": "dall-e-2",
        "steps": 2, "cfg_scale": 1.0, "deepcache": {"interval": 2, "depth": 1}})
    assert response.status_code == 200, response.text
    body = response.json()
    assert isinstance(body["created"], int) and body["size"] == "64x64" and body["output_format"] == "png"
    assert body["usage"]["model_evaluations"] == 2
    image = client.get(body["data"][0]["url"])
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    assert 'DeepCache: "2,1,0,-1"' in png_parameters(image.content)


def test_openai_edit_with_mask_returns_b64_json(client: Any) -> None:
    from PIL import Image

    picture = Image.fromarray(np.full((64, 64, 3), 90, dtype=np.uint8))
    mask = Image.new("RGBA", (64, 64), (0, 0, 0, 255))
    mask.paste((0, 0, 0, 0), (0, 0, 32, 64))  # transparent = edit
    files = []
    for name, image in (("image", picture), ("mask", mask)):
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        files.append((name, (f"{name}.png", buffer.getvalue(), "image/png")))
    response = client.post("/v1/images/edits", files=files, data={
        "prompt": "a red door", "n": "1", "response_format": "b64_json", "output_format": "jpeg", "steps": "2",
        "cfg_scale": "1", "seed": "11"})
    assert response.status_code == 200, response.text
    body = response.json()
    data = base64.b64decode(body["data"][0]["b64_json"])
    assert data[:3] == b"\xff\xd8\xff" and body["output_format"] == "jpeg"  # a JPEG, as asked
    wrong = client.post("/v1/images/edits", files=[files[0]], data={"prompt": "x", "steps": "two"})
    assert wrong.status_code == 400 and wrong.json()["error"]["param"] == "steps"


def test_native_job_lifecycle(client: Any) -> None:
    submitted = client.post("/sdcpp/v1/jobs", json={"prompt": "a cat", "seed": 5, "batch_count": 1, **FAST})
    assert submitted.status_code == 202, submitted.text
    job = submitted.json()
    assert job["state"] in ("queued", "running") and submitted.headers["location"].endswith(job["id"])
    done = wait_finished(client, job["id"])
    assert done["state"] == "succeeded", done
    assert done["result"]["seeds"] == [5] and done["progress"]["fraction"] == 1.0
    image = client.get(done["result"]["images"][0], params={"download": "true"})
    assert image.status_code == 200 and "attachment" in image.headers["content-disposition"]
    assert png_parameters(image.content) == done["result"]["parameters"][0]
    assert job["id"] in [entry["id"] for entry in client.get("/sdcpp/v1/jobs").json()["jobs"]]
    assert client.delete(f"/sdcpp/v1/jobs/{job['id']}").status_code == 204
    assert client.get(f"/sdcpp/v1/jobs/{job['id']}").status_code == 404


def test_library_validation_fails_the_job_naming_the_field(client: Any) -> None:
    submitted = client.post("/sdcpp/v1/jobs", json={"prompt": "a cat", "steps": 0})
    if submitted.status_code == 422:  # the library validates requests up front (GenerationRequest)
        assert detail_fields(submitted) == ["steps"]
        return
    done = wait_finished(client, submitted.json()["id"])
    assert done["state"] == "failed" and done["error"]["kind"] == "invalid_argument"
    assert done["error"]["field"] == "steps"


def test_progress_queue_full_cancel_and_interrupt(client: Any) -> None:
    running = client.post("/sdcpp/v1/jobs", json={"prompt": "a cat", "steps": LONG, "width": 64, "height": 64}).json()
    wait_running(client, running["id"])
    progress = client.get("/sdapi/v1/progress").json()
    assert progress["state"]["job"] == running["id"] and 0 < progress["progress"] < 1
    assert progress["eta_relative"] > 0
    assert decode_png(progress["current_image"]).width > 0  # the engine's fast latent preview (1/8 size)
    preview = client.get(f"/sdcpp/v1/jobs/{running['id']}/preview")
    assert preview.status_code == 200 and preview.headers["content-type"] == "image/png"

    queued = client.post("/sdcpp/v1/jobs", json={"prompt": "a dog", **FAST})
    assert queued.status_code == 202 and queued.json()["queue_position"] == 0
    full = client.post("/sdcpp/v1/jobs", json={"prompt": "a bird", **FAST})
    assert full.status_code == 429
    full_a1111 = client.post("/sdapi/v1/txt2img", json={"prompt": "a bird", **FAST})
    assert full_a1111.status_code == 429
    full_openai = client.post("/v1/images/generations", json={"prompt": "a bird"})
    assert full_openai.status_code == 429 and full_openai.json()["error"]["type"] == "rate_limit_exceeded"

    cancelled = client.post(f"/sdcpp/v1/jobs/{queued.json()['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    assert client.post(f"/sdcpp/v1/jobs/{queued.json()['id']}/cancel").status_code == 409

    assert client.post("/sdapi/v1/interrupt").status_code == 200
    interrupted = wait_finished(client, running["id"])
    assert interrupted["state"] == "cancelled" and interrupted["progress"]["step"] < LONG

    # Cancel a running job through the jobs API; afterwards the model still generates.
    second = client.post("/sdcpp/v1/jobs", json={"prompt": "a cat", "steps": LONG, "width": 64, "height": 64}).json()
    wait_running(client, second["id"])
    stopped = client.post(f"/sdcpp/v1/jobs/{second['id']}/cancel").json()
    assert stopped["state"] == "cancelled" and stopped["progress"]["step"] < LONG
    after = client.post("/sdcpp/v1/jobs", json={"prompt": "a cat", "seed": 1, **FAST}).json()
    assert wait_finished(client, after["id"])["state"] == "succeeded"


def test_client_disconnect_cancels_its_job(server: ServerProcess, client: Any) -> None:
    body = json.dumps({"prompt": "a cat", "steps": LONG, "width": 64, "height": 64}).encode()
    request = (f"POST /sdapi/v1/txt2img HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
               f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(request)
        job_id = wait_for(lambda: (lambda p: p["state"]["job"] if p["state"]["sampling_step"] >= 1 else None)(
            client.get("/sdapi/v1/progress").json()), 240.0)
    # The socket is closed: the server notices, cancels the job and goes idle long before 200 steps.
    wait_for(lambda: client.get("/sdapi/v1/progress").json()["state"]["job"] != job_id, 120.0)
    assert client.get("/sdapi/v1/progress").json()["state"]["job_count"] == 0
    assert client.get(f"/sdcpp/v1/jobs/{job_id}").status_code == 404  # forgotten, nothing kept
