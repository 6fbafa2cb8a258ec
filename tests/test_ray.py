"""examples/ray_batch.py on a local Ray cluster: 2 workers, a handful of prompts at 64x64.

The first run goes through a small wrapper that makes one worker process die the first time it
meets one line (Ray must restart the actor and retry the task); the rerun is the plain script.
Both run as subprocesses (Ray starts its own local cluster in each, 2 CPUs), bounded in time.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("ray.data", reason="Ray is an optional extra: pip install '.[ray]'")

import sdcpp  # noqa: E402
from PIL import Image  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "ray_batch.py"
SETTINGS = {"width": 64, "height": 64, "steps": 2}
DEEPCACHE = "2,0"
CRASH_PROMPT = "a red fox in the snow"
GOOD_LINES = [
    {"prompt": "a lighthouse at dusk", "seed": 11},
    {"prompt": CRASH_PROMPT, "seed": 12, "negative_prompt": "blurry"},
    {"prompt": "a bowl of cherries", "seed": 13, "deepcache": None, "name": "cherries"},
]
BAD_LINES = ['{"prompt": "too many steps", "steps": "many"}', "this line is not JSON"]
RUN_TIMEOUT_S = 420

# Runs the example's main() with a Generator whose process exits hard (no cleanup, as a crash or
# an OOM kill would) on the first line holding CRASH_PROMPT; a marker file makes it happen once.
CRASH_ONCE = textwrap.dedent("""
    import os, sys
    from pathlib import Path
    import ray_batch  # from examples/, on PYTHONPATH here and in the workers Ray starts
    MARKER = Path(sys.argv[1])

    class CrashOnce(ray_batch.Generator):
        def process(self, line):
            if {crash!r} in line and not MARKER.exists():
                MARKER.write_text(str(os.getpid()))
                os._exit(1)
            return super().process(line)

    ray_batch.Generator = CrashOnce
    sys.exit(ray_batch.main(sys.argv[2:]))
""").format(crash=CRASH_PROMPT)


def _arguments(model: Path, prompts: Path, output: Path) -> list[str]:
    return ["--model", os.fspath(model), "--prompts", os.fspath(prompts), "--output", os.fspath(output),
            "--workers", "2", "--threads-per-worker", "1", "--deepcache", DEEPCACHE, "--log-level", "INFO",
            *[item for key, value in SETTINGS.items() for item in (f"--{key}", str(value))]]


def _run(command: list[str], cwd: Path, pythonpath: str = "") -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "RAY_ADDRESS"}  # a local cluster
    if pythonpath:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [pythonpath, env.get("PYTHONPATH", "")]))
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    assert result.returncode == 0, (result.stdout[-3000:], result.stderr[-6000:])
    return result


def _manifest(output: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (output / "manifest.jsonl").read_text().splitlines()]


class Batch:
    def __init__(self, root: Path, model: Path) -> None:
        self.root = root
        self.output = root / "out"
        self.prompts = root / "prompts.jsonl"
        self.marker = root / "crashed-once"
        lines = [json.dumps(GOOD_LINES[0]), json.dumps(GOOD_LINES[1]), "", BAD_LINES[0], json.dumps(GOOD_LINES[2]),
                 BAD_LINES[1]]
        self.prompts.write_text("\n".join(lines) + "\n")
        wrapper = root / "crash_once.py"
        wrapper.write_text(CRASH_ONCE)
        self.arguments = _arguments(model, self.prompts, self.output)
        self.first = _run([sys.executable, os.fspath(wrapper), os.fspath(self.marker), *self.arguments], root,
                          pythonpath=os.fspath(EXAMPLE.parent))
        self.first_manifest = _manifest(self.output)
        self.first_files = {path.name: path.stat().st_mtime_ns for path in self.output.iterdir()}

    def rerun(self) -> tuple[subprocess.CompletedProcess[str], list[dict[str, Any]]]:
        # One worker is enough to find that nothing is left to do (and loads one model, not two).
        arguments = [*self.arguments[:self.arguments.index("--workers") + 1], "1",
                     *self.arguments[self.arguments.index("--workers") + 2:]]
        result = _run([sys.executable, os.fspath(EXAMPLE), *arguments], self.root)
        return result, _manifest(self.output)


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory, sd15_model: Path) -> Batch:
    return Batch(tmp_path_factory.mktemp("ray-batch"), sd15_model)


def _by_prompt(manifest: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {record["prompt"]: record for record in manifest if record["status"] != "failed"}


def test_every_line_gets_one_record_and_good_lines_one_png(batch: Batch) -> None:
    statuses = sorted(record["status"] for record in batch.first_manifest)
    assert statuses == ["failed", "failed", "generated", "generated", "generated"]
    pngs = sorted(path.name for path in batch.output.glob("*.png"))
    assert pngs == sorted(record["file"] for record in batch.first_manifest if record["status"] == "generated")
    assert "cherries.png" in pngs  # a line's name field names its file


def test_images_equal_a_plain_context_pixel_for_pixel(batch: Batch, context: sdcpp.Context) -> None:
    records = _by_prompt(batch.first_manifest)
    for line in GOOD_LINES:
        record = records[line["prompt"]]
        options = {key: value for key, value in line.items() if key != "name"}
        deepcache = options.pop("deepcache", DEEPCACHE)
        expected = context.generate(**{**SETTINGS, **options}, deepcache=deepcache)
        with Image.open(batch.output / record["file"]) as png:
            pixels = np.asarray(png.convert("RGB"))
        assert np.array_equal(pixels, expected.images[0]), line["prompt"]
        assert record["seed"] == line["seed"]
        assert record["cache_stats"] == {"full_evaluations": expected.cache_stats.full_evaluations,
                                         "reused_evaluations": expected.cache_stats.reused_evaluations}
        parameters = sdcpp.read_parameters(batch.output / record["file"])
        assert parameters is not None and line["prompt"] in str(parameters)


def test_manifest_records_settings_and_time(batch: Batch) -> None:
    records = _by_prompt(batch.first_manifest)
    fox = records[CRASH_PROMPT]
    assert fox["settings"]["negative_prompt"] == "blurry"
    assert fox["settings"]["steps"] == 2 and fox["settings"]["width"] == 64
    assert fox["params"]["sampling_method"] and fox["params"]["deepcache"]
    assert fox["cache_stats"]["reused_evaluations"] > 0  # --deepcache 2,0 from the command line
    cherries = records["a bowl of cherries"]
    assert cherries["cache_stats"]["reused_evaluations"] == 0  # the line's own "deepcache": null wins
    assert all(record["seconds"] > 0 for record in records.values())


def test_bad_lines_are_recorded_not_fatal(batch: Batch) -> None:
    failed = [record for record in batch.first_manifest if record["status"] == "failed"]
    errors = {record["input"]: record["error"] for record in failed}
    assert set(errors) == set(BAD_LINES)
    assert "InvalidArgument" in errors[BAD_LINES[0]] and "steps" in errors[BAD_LINES[0]]
    assert "not a JSON line" in errors[BAD_LINES[1]]
    assert "3 generated, 0 skipped, 2 failed" in batch.first.stdout


def test_a_dead_worker_is_restarted_and_its_line_retried(batch: Batch) -> None:
    assert batch.marker.exists(), "the injected crash did not happen"
    crashed_pid = batch.marker.read_text()
    fox = _by_prompt(batch.first_manifest)[CRASH_PROMPT]
    assert fox["status"] == "generated"
    assert not fox["worker"].endswith(f":{crashed_pid}")  # made by the restarted actor
    assert not list(batch.output.glob(".*")), "a temporary file was left behind"


def test_worker_logs_reach_ray_through_logging(batch: Batch) -> None:
    output = batch.first.stdout + batch.first.stderr
    assert "MapWorker" in output and "INFO sdcpp" in output  # the engine's lines, via the 'sdcpp' logger


def test_rerun_generates_nothing_new(batch: Batch) -> None:
    result, manifest = batch.rerun()
    assert "0 generated, 3 skipped, 2 failed" in result.stdout
    assert {path.name: path.stat().st_mtime_ns for path in batch.output.glob("*.png")} == \
        {name: mtime for name, mtime in batch.first_files.items() if name.endswith(".png")}
    skipped = _by_prompt(manifest)
    assert {record["status"] for record in skipped.values()} == {"skipped"}
    for prompt, record in _by_prompt(batch.first_manifest).items():  # the generating run's record is kept
        assert skipped[prompt]["seconds"] == record["seconds"]
        assert skipped[prompt]["cache_stats"] == record["cache_stats"]
