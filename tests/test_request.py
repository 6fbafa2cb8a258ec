"""sdcpp.GenerationRequest: one validated, comparable, serialisable description of a generation,
taken by Context.generate, built by the CLI, and reported back in the result (issue #15)."""
from __future__ import annotations

import base64
import dataclasses
import io
import json
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

import sdcpp
from conftest import CACHE_DIR, FAST

RNG = np.random.default_rng(15)
IMAGE = RNG.integers(0, 256, (64, 64, 3), dtype=np.uint8)
MASK = np.where(RNG.random((64, 64)) > 0.5, 255, 0).astype(np.uint8)


@pytest.fixture(scope="module")
def lora() -> Path:
    from sdcpp.testing import ensure_sd15_lora

    return ensure_sd15_lora(CACHE_DIR)


def every_field_changed(lora: Path, embed: Path) -> dict[str, Any]:
    """A value other than the default for every field, in plain (to_dict) form."""
    return {
        "prompt": "a cat", "negative_prompt": "blurry", "width": 64, "height": 64, "steps": 3, "cfg_scale": 5.5,
        "img_cfg_scale": 2.0, "guidance": 4.0, "seed": 123, "sampling_method": "euler", "scheduler": "karras",
        "eta": 0.5, "sigmas": [14.6, 6.0, 0.0], "flow_shift": 3.0, "timestep_shift": 2, "batch_count": 2,
        "clip_skip": 2, "init_image": IMAGE, "mask": MASK, "strength": 0.5, "control_image": IMAGE[::-1].copy(),
        "control_strength": 0.5, "ref_images": [IMAGE], "increase_ref_index": True, "auto_resize_ref_image": False,
        "loras": [{"path": str(lora), "multiplier": 0.5, "high_noise": False}], "hires": True,
        "hires_upscaler": "Lanczos", "hires_scale": 1.5, "hires_width": 96, "hires_height": 80, "hires_steps": 2,
        "hires_denoising_strength": 0.5, "slg_scale": 1.0, "skip_layers": [1, 2], "skip_layer_start": 0.1,
        "skip_layer_end": 0.3, "pm_id_images": [IMAGE, IMAGE], "pm_id_embed_path": str(embed),
        "pm_style_strength": 10.0, "vae_tiling": True, "vae_tile_size": [16, 24], "vae_tile_overlap": 0.25,
        "deepcache": dataclasses.asdict(sdcpp.DeepCache(interval=3, depth=1)), "cache_mode": "deepcache",
        "cache_options": None, "output_format": "pil", "preview_method": "tae", "preview_interval": 2,
        "preview_noisy": True,
    }


def plain_equal(left: dict[str, Any], right: dict[str, Any]) -> bool:
    def norm(value: Any) -> Any:
        if isinstance(value, np.ndarray):
            return ("image", value.shape, value.tobytes())
        if isinstance(value, (list, tuple)):
            return [norm(item) for item in value]
        if isinstance(value, dict):
            return {key: norm(item) for key, item in value.items()}
        return value
    return bool(norm(left) == norm(right))


def test_every_field_round_trips_through_a_dict_and_json(lora: Path, tmp_path: Path) -> None:
    embed = tmp_path / "id_embeds.bin"
    embed.write_bytes(b"\0" * 16)
    plain = every_field_changed(lora, embed)
    names = [field.name for field in dataclasses.fields(sdcpp.GenerationRequest) if field.init]
    assert sorted(plain) == sorted(names), "a new field needs a value in this table"
    defaults = sdcpp.GenerationRequest().to_dict()
    assert all(not plain_equal({"v": plain[name]}, {"v": defaults[name]}) for name in names if name != "cache_options")
    request = sdcpp.GenerationRequest.from_dict(plain)
    assert plain_equal(request.to_dict(), plain)
    assert sdcpp.GenerationRequest.from_dict(request.to_dict()) == request
    as_json = json.loads(json.dumps(request.to_dict(images="base64")))
    assert sdcpp.GenerationRequest.from_dict(as_json) == request
    assert sdcpp.GenerationRequest.from_dict(as_json).to_dict(images="base64") == as_json
    # Python values and plain values build the same request.
    python = sdcpp.GenerationRequest(**{**plain, "loras": [sdcpp.Lora(str(lora), 0.5)], "sigmas": "14.6,6,0",
                                        "deepcache": "3,1", "vae_tile_size": (16, 24), "skip_layers": (1, 2),
                                        "control_image": Image.fromarray(plain["control_image"])})
    assert python == request and hash(python) == hash(request)


def test_defaults_are_sd_clis_and_match_generate() -> None:
    request = sdcpp.GenerationRequest()
    assert (request.steps, request.cfg_scale, request.seed, request.strength) == (20, 7.0, 42, 0.75)
    assert (request.width, request.height, request.sampling_method, request.scheduler) == (None, None, None, None)
    assert request == sdcpp.GenerationRequest.from_dict({}) == sdcpp.GenerationRequest.from_dict(request.to_dict())


def test_requests_are_immutable_values() -> None:
    image = IMAGE.copy()
    request = sdcpp.GenerationRequest(prompt="a cat", init_image=image)
    with pytest.raises(dataclasses.FrozenInstanceError):
        request.steps = 3  # type: ignore[misc]
    image[:] = 0  # the caller's array is copied, not shared
    assert request.init_image is not None and np.array_equal(request.init_image, IMAGE)
    assert isinstance(request.init_image, np.ndarray) and not request.init_image.flags.writeable
    changed = request.replace(steps=3, seed=9)
    assert (changed.steps, changed.seed, changed.prompt, request.steps) == (3, 9, "a cat", 20)
    assert changed != request and changed.replace(steps=20, seed=42) == request
    assert {request, changed.replace(steps=20, seed=42)} == {request}
    assert sdcpp.GenerationRequest(cfg_scale=7) == sdcpp.GenerationRequest(cfg_scale=7.0)
    with pytest.raises(sdcpp.InvalidArgument, match="steps must be between"):
        request.replace(steps=0)
    with pytest.raises(TypeError, match="stepz"):
        request.replace(stepz=3)
    assert "init_image=<uint8 64x64x3 image>" in repr(request) and "steps" not in repr(request)


def test_requests_and_results_pickle(context: sdcpp.Context) -> None:
    request = sdcpp.GenerationRequest(prompt="a cat", init_image=IMAGE, mask=MASK, strength=0.5,
                                      deepcache="2,0", seed=5, **{k: v for k, v in FAST.items() if k != "steps"},
                                      steps=2)
    assert pickle.loads(pickle.dumps(request)) == request
    result = context.generate(request)
    copy = pickle.loads(pickle.dumps(result))
    assert copy.seeds == result.seeds and copy.params == result.params
    assert np.array_equal(copy.images[0], result.images[0])
    assert copy.cache_stats == result.cache_stats


BAD_FIELDS: list[tuple[dict[str, Any], str]] = [
    ({"prompt": None}, "prompt must be a string"),
    ({"prompt": "a\0cat"}, "prompt must not contain NUL"),
    ({"negative_prompt": 3}, "negative_prompt must be a string"),
    ({"width": 65}, "width must be a multiple of 8"),
    ({"height": 0}, "height must be between"),
    ({"width": "64"}, "width must be an integer"),
    ({"steps": 0}, "steps must be between"),
    ({"steps": 2.5}, "steps must be an integer"),
    ({"cfg_scale": "high"}, "cfg_scale must be a number"),
    ({"seed": -2}, "seed must be between"),
    ({"seed": 2**63 - 1, "batch_count": 2}, "overflows"),
    ({"sampling_method": "euler_z"}, "unknown sampling method"),
    ({"scheduler": "karas"}, "unknown scheduler"),
    ({"eta": -1}, "eta must be"),
    ({"sigmas": [1.0, 2.0, 0.0]}, "sigmas must not increase"),
    ({"batch_count": 0}, "batch_count must be between"),
    ({"strength": 2}, "strength must be"),
    ({"mask": MASK}, "mask needs an init_image"),
    ({"init_image": IMAGE, "width": 128}, "init_image is 64x64, not 128x64"),
    ({"ref_images": [None]}, "numpy array or a PIL image"),
    ({"loras": [42]}, "cannot use 42 as a LoRA"),
    ({"loras": ["/no/such/lora.safetensors"]}, "no such file"),
    ({"hires": "yes"}, "hires must be True or False"),
    ({"hires_scale": -1.0}, "hires_scale must be"),
    ({"hires": True, "hires_upscaler": "Bicubic9000"}, "unknown hires upscaler"),
    ({"skip_layers": "7,8"}, "skip_layers must be a list"),
    ({"vae_tiling": "on"}, "vae_tiling must be True, False or None"),
    ({"vae_tile_overlap": 1.0}, "vae_tile_overlap must be"),
    ({"deepcache": "3,x"}, "deepcache '3,x'"),
    ({"deepcache": 3, "cache_mode": "spectrum"}, "exclude each other"),
    ({"cache_mode": "fastcache"}, "unknown cache mode"),
    ({"cache_options": "threshold=1"}, "cache_options needs a cache_mode"),
    ({"output_format": "png"}, "output_format must be one of"),
    ({"preview_method": "fast"}, "unknown preview method"),
    ({"preview_interval": 0}, "preview_interval must be"),
    ({"preview_noisy": 1}, "preview_noisy must be True or False"),
    ({"pm_id_embed_path": "/no/such/embeds.bin"}, "pm_id_embed_path: no such file"),
]


@pytest.mark.parametrize("fields, message", BAD_FIELDS, ids=[next(iter(f)) + str(i) for i, (f, _) in enumerate(BAD_FIELDS)])
def test_bad_values_are_refused_by_field_name_in_every_form(context: sdcpp.Context, fields: dict[str, Any],
                                                           message: str) -> None:
    with pytest.raises(sdcpp.InvalidArgument, match=message):
        sdcpp.GenerationRequest(**fields)
    with pytest.raises(sdcpp.InvalidArgument, match=message):
        sdcpp.GenerationRequest.from_dict(fields)
    with pytest.raises(sdcpp.InvalidArgument, match=message):
        sdcpp.GenerationRequest(prompt="a cat").replace(**fields)
    keywords = {**FAST, **fields}
    with pytest.raises(sdcpp.InvalidArgument, match=message):
        context.generate(keywords.pop("prompt", "a cat"), **keywords)


def test_the_dict_edge_refuses_unknown_keys_by_name_and_reads_image_files_and_base64(tmp_path: Path) -> None:
    with pytest.raises(sdcpp.InvalidArgument, match="unknown GenerationRequest field.*: num_inference_steps, stepz"):
        sdcpp.GenerationRequest.from_dict({"prompt": "x", "stepz": 3, "num_inference_steps": 3})
    with pytest.raises(sdcpp.InvalidArgument, match="built from a mapping"):
        sdcpp.GenerationRequest.from_dict(["prompt"])  # type: ignore[arg-type]
    with pytest.raises(sdcpp.InvalidArgument, match=r"loras\[0\]: unknown key.*weight"):
        sdcpp.GenerationRequest.from_dict({"loras": [{"path": "x.safetensors", "weight": 1}]})
    with pytest.raises(sdcpp.InvalidArgument, match="deepcache: unknown key.*every"):
        sdcpp.GenerationRequest.from_dict({"deepcache": {"interval": 3, "every": 2}})
    path = tmp_path / "in.png"
    Image.fromarray(IMAGE).save(path)
    buffer = io.BytesIO()
    Image.fromarray(MASK).save(buffer, format="PNG")
    mask_b64 = base64.b64encode(buffer.getvalue()).decode()
    from_file = sdcpp.GenerationRequest.from_dict({"init_image": str(path), "mask": mask_b64})
    assert from_file == sdcpp.GenerationRequest(init_image=IMAGE, mask=MASK)
    as_url = sdcpp.GenerationRequest.from_dict({"init_image": str(path), "mask": "data:image/png;base64," + mask_b64})
    assert as_url == from_file
    with pytest.raises(sdcpp.InvalidArgument, match="init_image: no such file"):
        sdcpp.GenerationRequest.from_dict({"init_image": str(tmp_path / "missing.png")})
    with pytest.raises(sdcpp.InvalidArgument, match="control_image: cannot read the image"):
        sdcpp.GenerationRequest.from_dict({"control_image": base64.b64encode(b"not an image at all").decode()})
    with pytest.raises(sdcpp.InvalidArgument, match=r"ref_images\[1\]: no such file"):
        sdcpp.GenerationRequest.from_dict({"ref_images": [str(path), "nope.png"]})
    # In Python a path string is not an image: only the dict edge reads files.
    with pytest.raises(sdcpp.InvalidArgument, match="numpy array or a PIL image"):
        sdcpp.GenerationRequest(init_image=str(path))


def test_generating_from_a_request_equals_the_keyword_call(context: sdcpp.Context) -> None:
    settings = dict(FAST, seed=11, sampling_method="euler", steps=2)
    request = sdcpp.GenerationRequest(prompt="a lighthouse", negative_prompt="fog", **settings)
    from_request = context.generate(request)
    from_keywords = context.generate("a lighthouse", "fog", **settings)
    np.testing.assert_array_equal(from_request.images[0], from_keywords.images[0])
    assert from_request.params == from_keywords.params
    from_dict = context.generate(sdcpp.GenerationRequest.from_dict(json.loads(json.dumps(request.to_dict()))))
    np.testing.assert_array_equal(from_dict.images[0], from_request.images[0])
    # Keywords next to a request change it.
    changed = context.generate(request, seed=12)
    assert changed.seeds == [12]
    np.testing.assert_array_equal(changed.images[0], context.txt2img("a lighthouse", "fog", **{**settings, "seed": 12}))
    img2img = context.img2img(IMAGE, request.replace(strength=0.4))
    np.testing.assert_array_equal(img2img, context.img2img(IMAGE, "a lighthouse", "fog", strength=0.4, **settings))
    with pytest.raises(TypeError, match="stepz"):
        context.generate("a cat", stepz=3)


def test_the_result_reports_the_resolved_request_and_params_derive_from_it(context: sdcpp.Context,
                                                                           tmp_path: Path) -> None:
    request = sdcpp.GenerationRequest(prompt="a cat", seed=-1, width=64, height=64, steps=2)
    result = context.generate(request)
    resolved = result.request
    assert resolved is not None
    assert resolved.seed == result.seeds[0] != -1
    assert resolved.sampling_method == context.default_sampling_method() == "euler_a"
    assert resolved.scheduler in sdcpp.schedulers() and resolved.eta == 1.0 and resolved.vae_tiling is False
    assert resolved == request.replace(seed=resolved.seed, sampling_method="euler_a", scheduler=resolved.scheduler,
                                       eta=1.0, vae_tiling=False)
    for name, value in resolved.to_dict().items():
        if name in ("init_image", "mask", "control_image"):
            assert result.params[name] is (value is not None), name
        elif name in ("ref_images", "pm_id_images"):
            assert result.params[name] == len(value), name
        elif name not in ("hires", "deepcache", "cache_mode", "strength", "control_strength"):
            assert result.params[name] == value, name
    assert result.params["hires"] is None and result.params["strength"] is None
    assert result.params["deepcache"] is None and result.params["cache_mode"] == "disabled"
    # The resolved request makes the same image again, and the PNG carries it.
    np.testing.assert_array_equal(context.generate(resolved).images[0], result.images[0])
    stored = sdcpp.read_parameters(result.save(tmp_path / "cat.png"))["sdcpp"]["request"]
    assert sdcpp.GenerationRequest.from_dict(stored) == resolved
    painted = context.generate("a cat", init_image=IMAGE, mask=MASK, strength=0.5, steps=2, seed=3,
                               deepcache="2,0", sampling_method="euler")
    assert painted.params["init_image"] is True and painted.params["mask"] is True
    assert painted.params["strength"] == 0.5 and painted.params["deepcache"] == str(painted.request.deepcache)
    assert painted.request is not None and painted.request.width == 64  # taken from the init image


def test_cli_flags_map_one_to_one_onto_request_fields() -> None:
    from sdcpp.cli import REQUEST_FLAGS, build_parser, request_from_args

    names = {field.name for field in dataclasses.fields(sdcpp.GenerationRequest) if field.init}
    fields = [flag.field for flag in REQUEST_FLAGS]
    assert len(set(fields)) == len(fields) and set(fields) <= names
    assert names - set(fields) == {"loras", "output_format"}  # prompt tags; the CLI writes PNG files
    # sd-cli's defaults are the request's (the CLI previews nothing unless asked).
    assert request_from_args(build_parser().parse_args([])) == sdcpp.GenerationRequest(preview_method="none")


def test_cli_dump_request_prints_the_request_of_a_command_line_without_a_model(tmp_path: Path) -> None:
    Image.fromarray(IMAGE).save(tmp_path / "in.png")
    flags = ["-p", "a cat", "-n", "ugly", "--steps", "3", "-s", "-7", "--cfg-scale", "5", "--sampling-method",
             "euler", "--deepcache", "3,1", "-i", str(tmp_path / "in.png"), "--strength", "0.4", "--vae-tiling",
             "--disable-auto-resize-ref-image", "--skip-layers", "1,2", "--dump-request"]
    shown = subprocess.run([sys.executable, "-m", "sdcpp.cli", *flags], capture_output=True, text=True, timeout=300)
    assert shown.returncode == 0, shown.stderr
    request = sdcpp.GenerationRequest.from_dict(json.loads(shown.stdout))
    assert request == sdcpp.GenerationRequest(
        prompt="a cat", negative_prompt="ugly", steps=3, seed=-1, cfg_scale=5.0, sampling_method="euler",
        deepcache="3,1", init_image=IMAGE, strength=0.4, vae_tiling=True, auto_resize_ref_image=False,
        skip_layers=(1, 2), preview_method="none")
    assert [path.name for path in tmp_path.iterdir()] == ["in.png"]
    bad = subprocess.run([sys.executable, "-m", "sdcpp.cli", "-p", "x", "-W", "65", "--dump-request"],
                         capture_output=True, text=True, timeout=300)
    assert bad.returncode == 1 and "width must be a multiple of 8" in bad.stderr
