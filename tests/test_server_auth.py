"""sdcpp-server with --api-key and --cors-origin; SIGTERM while a job runs; startup warnings."""
from __future__ import annotations

import signal
from pathlib import Path
from typing import Any, Iterator

import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

from server_support import FAST, ServerProcess, wait_for  # noqa: E402

KEY = "test-key-123"
ORIGIN = "http://allowed.test"
AUTH = {"Authorization": f"Bearer {KEY}"}


@pytest.fixture(scope="module")
def output_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("outputs")


@pytest.fixture(scope="module")
def server(sd15_model: Path, output_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    log = tmp_path_factory.mktemp("auth-server") / "server.log"
    process = ServerProcess(sd15_model, ["--cors-origin", ORIGIN, "--output-dir", str(output_dir)], log_path=log,
                            env={"SDCPP_SERVER_API_KEY": KEY})
    try:
        process.wait_ready()
        yield process
    finally:
        process.stop()


@pytest.fixture()
def client(server: ServerProcess) -> Iterator[Any]:
    with httpx.Client(base_url=server.url, timeout=300.0) as http:
        yield http


def test_every_endpoint_needs_the_key(client: Any) -> None:
    for path in ("/sdapi/v1/samplers", "/sdapi/v1/progress", "/sdcpp/v1/info", "/sdcpp/v1/jobs", "/openapi.json"):
        assert client.get(path).status_code == 401, path
        assert client.get(path, headers={"Authorization": "Bearer wrong"}).status_code == 401, path
        assert client.get(path, headers=AUTH).status_code == 200, path
    denied = client.post("/sdapi/v1/txt2img", json={"prompt": "a cat"})
    assert denied.status_code == 401 and denied.headers["www-authenticate"] == "Bearer"
    openai = client.get("/v1/models")
    assert openai.status_code == 401 and openai.json()["error"]["code"] == "invalid_api_key"
    assert client.get("/v1/models", headers=AUTH).status_code == 200


def test_the_page_shell_is_public_but_carries_no_data(client: Any) -> None:
    assert client.get("/").status_code == 200
    assert client.get("/static/app.js").status_code == 200
    assert client.get("/sdcpp/v1/health").json() == {"status": "ok"}


def test_cors_only_for_the_configured_origin(client: Any) -> None:
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type"}
    allowed = client.options("/sdapi/v1/txt2img", headers={"Origin": ORIGIN, **preflight})
    assert allowed.status_code == 200 and allowed.headers["access-control-allow-origin"] == ORIGIN
    other = client.options("/sdapi/v1/txt2img", headers={"Origin": "http://evil.test", **preflight})
    assert other.headers.get("access-control-allow-origin") != "http://evil.test"
    simple = client.get("/sdapi/v1/samplers", headers={"Origin": ORIGIN, **AUTH})
    assert simple.headers["access-control-allow-origin"] == ORIGIN


def test_sigterm_cancels_the_running_job_and_exits_0(server: ServerProcess, client: Any, output_dir: Path) -> None:
    # One finished job is saved to --output-dir ...
    done = client.post("/sdcpp/v1/jobs", json={"prompt": "a cat", **FAST}, headers=AUTH).json()
    wait_for(lambda: client.get(f"/sdcpp/v1/jobs/{done['id']}", headers=AUTH).json()["state"] == "succeeded", 240.0)
    assert [path.name for path in output_dir.iterdir()] == [f"{done['id']}-0.png"]
    # ... then SIGTERM arrives while a long one runs: it is cancelled, nothing partial is written.
    long = client.post("/sdcpp/v1/jobs", json={"prompt": "a cat", "steps": 200, "width": 64, "height": 64},
                       headers=AUTH).json()
    wait_for(lambda: client.get(f"/sdcpp/v1/jobs/{long['id']}", headers=AUTH).json()["progress"]["step"] >= 1, 240.0)
    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(120) == 0, server.log()
    assert [path.name for path in output_dir.iterdir()] == [f"{done['id']}-0.png"]
    assert "stopped" in server.log()


def test_startup_warns_about_exposed_addresses_without_a_key() -> None:
    from sdcpp.server.settings import ServerSettings, startup_warnings

    assert startup_warnings(ServerSettings(model="m.gguf")) == []
    assert startup_warnings(ServerSettings(model="m.gguf", listen_ip="::1")) == []
    exposed = startup_warnings(ServerSettings(model="m.gguf", listen_ip="0.0.0.0"))
    assert len(exposed) == 1 and "--api-key" in exposed[0]
    assert startup_warnings(ServerSettings(model="m.gguf", listen_ip="0.0.0.0", api_key="k")) == []


def test_flags_become_settings(tmp_path: Path) -> None:
    import sdcpp
    from sdcpp.server.cli import build_parser, settings_from_args

    args = build_parser().parse_args(["-m", "model.gguf", "-l", "0.0.0.0", "--listen-port", "8080", "--steps", "4",
                                      "--deepcache", "3,0", "--lora-model-dir", str(tmp_path), "-t", "3",
                                      "--cors-origin", "http://a.test", "--vae-tiling"])
    settings = settings_from_args(args)
    assert (settings.listen_ip, settings.listen_port, settings.defaults.steps) == ("0.0.0.0", 8080, 4)
    assert settings.defaults.deepcache == "3,0" and settings.cors_origins == ("http://a.test",)
    assert settings.context_options["lora_model_dir"] == str(tmp_path)
    assert settings.context_options["threads"] == 3 and settings.context_options["vae_tiling"] is True
    assert settings.context_options["weight_repack"] is True  # the default: repacked q4_0 (patch 0006)
    plain = settings_from_args(build_parser().parse_args(["-m", "model.gguf", "--no-weight-repack"]))
    assert plain.context_options["weight_repack"] is False
    # flash attention: the Context decides (on for CPU builds) unless a flag says otherwise
    assert "diffusion_flash_attn" not in settings.context_options
    no_fa = settings_from_args(build_parser().parse_args(["-m", "model.gguf", "--no-diffusion-fa"]))
    assert no_fa.context_options["diffusion_flash_attn"] is False
    with pytest.raises(sdcpp.InvalidArgument, match="diffusion-fa"):
        settings_from_args(build_parser().parse_args(["-m", "model.gguf", "--diffusion-fa", "--no-diffusion-fa"]))
    defaults = build_parser().parse_args(["-m", "model.gguf"])
    assert (defaults.listen_ip, defaults.listen_port) == ("127.0.0.1", 1234)
    with pytest.raises(sdcpp.InvalidArgument, match="deepcache"):
        settings_from_args(build_parser().parse_args(["-m", "m.gguf", "--deepcache", "x"]))
    with pytest.raises(sdcpp.InvalidArgument, match="model"):
        settings_from_args(build_parser().parse_args([]))


def test_server_deepcache_default_applies_unless_the_request_chooses() -> None:
    import sdcpp
    from sdcpp.server.generation import apply_defaults
    from sdcpp.server.settings import GenerationDefaults, ServerSettings

    settings = ServerSettings(model="m.gguf", defaults=GenerationDefaults(steps=5, deepcache="3,0"))
    assert apply_defaults({"prompt": "a"}, settings)["deepcache"] == sdcpp.DeepCache(3, 0)
    assert apply_defaults({"prompt": "a", "deepcache": {"interval": 2, "depth": 1}}, settings)["deepcache"] == \
        sdcpp.DeepCache(2, 1)
    for off in (False, "off"):
        assert "deepcache" not in apply_defaults({"prompt": "a", "deepcache": off}, settings)
    assert "deepcache" not in apply_defaults({"prompt": "a", "cache_mode": "ucache"}, settings)
    assert apply_defaults({"prompt": "a"}, settings)["steps"] == 5
    assert apply_defaults({"prompt": "a", "steps": 9}, settings)["steps"] == 9
