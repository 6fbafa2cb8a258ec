#!/usr/bin/env python
"""Generate one PNG per prompt of a JSONL file with Ray Data: one loaded sdcpp.Context per worker.

    python examples/ray_batch.py --model sd15-q4_0.gguf --prompts prompts.jsonl --output out/ \\
        --workers 4 --threads-per-worker 4 --deepcache 3,0 --steps 20 [--address auto]

Each line of the prompts file is one JSON object: ``prompt``, optional ``negative_prompt`` and
``seed``, and any other generation field with sd-cli's names (``steps``, ``cfg_scale``,
``sampling_method``, ``scheduler``, ``width``, ``height``, ``deepcache``, ...). The command-line
settings are defaults under each line's own fields; ``sdcpp.GenerationRequest.from_dict``
validates the result. An optional ``name`` field names the PNG (``name.png``); without it the
file is named after a hash of the model's file name and the settings, so the same (prompt, seed,
settings) always maps to the same file (give lines distinct seeds or names: two lines asking for
the same image share one file, and ``seed: -1`` lines with the same prompt do too).

This is a recipe over Ray's public API, nothing more: ``read_text`` splits the prompts into
blocks, ``map_batches`` runs them through a pool of ``Generator`` actors (``compute=
ActorPoolStrategy(size=--workers)``, ``num_cpus=--threads-per-worker``, ``batch_size=1``), and the
driver writes the manifest from the rows that come back. Ray restarts an actor whose process
dies and retries its task (``max_restarts`` / ``max_task_retries``).

What a run guarantees:

- Images appear complete or not at all (written under a temporary name, then renamed); a rerun
  skips every line whose PNG exists and is a readable image, so an interrupted run resumes.
- A line that fails (not JSON, an unknown field, a bad value, an engine error) is recorded in the
  manifest with its error; the other lines go on.
- ``DIR/manifest.jsonl`` has one JSON object per non-empty input line, in completion order:
  ``status`` (generated, skipped or failed), ``prompt``, ``seed``, ``file``, ``settings`` (the
  fields of the line's ``sdcpp.GenerationRequest`` that differ from sdcpp's defaults, command-line
  defaults merged), ``params`` (every setting the engine used), ``cache_stats``, ``seconds``,
  ``started_at``, ``worker``, ``worker_peak_rss_mb`` and, for failures, ``error`` and ``input``
  (the line). A skipped line keeps the record of the run that generated its image.
- The same (prompt, seed, settings) gives the same pixels as a plain ``sdcpp.Context``.

Run one job per output directory at a time. On a cluster, the model, the prompts file and DIR
must be at the same path on every node (shared storage), see docs/scale-out.md.
"""
from __future__ import annotations

import argparse
import collections
import hashlib
import json
import logging
import os
import re
import socket
import sys
import time
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

import sdcpp

MANIFEST_NAME = "manifest.jsonl"
STATUSES = ("generated", "skipped", "failed")
# Fields a line may not set: this recipe writes exactly one PNG per line itself.
RECIPE_FIELDS = frozenset({"output_format"})
FILE_STEM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
MAX_BLOCKS = 100_000
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_HANDLER_MARK = "_sdcpp_ray_batch_handler"
# A child of "sdcpp": the recipe's own lines go through the handler the workers give that logger.
LOG = logging.getLogger("sdcpp.examples.ray_batch")


def build_parser() -> argparse.ArgumentParser:
    """The command line: the recipe's own options and sd-cli's generation options."""
    parser = argparse.ArgumentParser(
        description="Generate one PNG per line of a prompts JSONL file on a Ray cluster "
        "(one sdcpp.Context per worker).")
    parser.add_argument("--model", "-m", required=True, help="model file, at this path on every node")
    parser.add_argument("--prompts", required=True, help="JSONL file: one JSON object per line")
    parser.add_argument("--output", "-o", required=True, help="output directory (created if missing)")
    parser.add_argument("--workers", type=int, default=1, help="number of Ray actors, each with one Context")
    parser.add_argument("--threads-per-worker", type=int, default=1,
                        help="CPU threads of each Context, and the CPUs Ray reserves for each actor")
    parser.add_argument("--address", default=None,
                        help="join this Ray cluster ('auto', or host:port of the head); default: start Ray locally")
    parser.add_argument("--max-restarts", type=int, default=None,
                        help="how often Ray restarts an actor whose process died (Ray's max_restarts; "
                        "default: Ray Data's, -1 = always)")
    parser.add_argument("--max-task-retries", type=int, default=None,
                        help="how often Ray retries a task whose actor died (Ray's max_task_retries; "
                        "default: Ray Data's, -1 = always)")
    parser.add_argument("--log-level", default="WARNING", choices=("DEBUG", "INFO", "WARNING", "ERROR"),
                        help="level of the 'sdcpp' logger in the workers (their output lands in Ray's worker logs)")
    gen = parser.add_argument_group("generation defaults (each line's own fields win)")
    gen.add_argument("--negative-prompt", "-n", default=None)
    gen.add_argument("--width", "-W", type=int, default=None)
    gen.add_argument("--height", "-H", type=int, default=None)
    gen.add_argument("--steps", type=int, default=None)
    gen.add_argument("--cfg-scale", type=float, default=None)
    gen.add_argument("--seed", "-s", type=int, default=None)
    gen.add_argument("--sampling-method", default=None)
    gen.add_argument("--scheduler", default=None)
    gen.add_argument("--clip-skip", type=int, default=None)
    gen.add_argument("--deepcache", metavar="N,D[,START,END]", default=None,
                     help="DeepCache interval,depth[,start,end], as sdcpp-cli's --deepcache")
    return parser


GENERATION_OPTIONS = ("negative_prompt", "width", "height", "steps", "cfg_scale", "seed", "sampling_method",
                      "scheduler", "clip_skip", "deepcache")


def generation_defaults(args: argparse.Namespace) -> dict[str, Any]:
    """The generation fields given on the command line (the others keep sdcpp's defaults)."""
    return {name: getattr(args, name) for name in GENERATION_OPTIONS if getattr(args, name) is not None}


def configure_worker_logging(level: str) -> None:
    """Send the 'sdcpp' logger to stderr, which Ray writes to the worker's log (once per process)."""
    logger = logging.getLogger("sdcpp")
    logger.setLevel(level)
    if not any(getattr(handler, _HANDLER_MARK, False) for handler in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        setattr(handler, _HANDLER_MARK, True)
        logger.addHandler(handler)


def line_request(row: dict[str, Any], defaults: dict[str, Any]) -> sdcpp.GenerationRequest:
    """The validated request of one prompts line: the command-line defaults under the line's own
    fields (unknown fields and bad values raise ``sdcpp.InvalidArgument`` naming them)."""
    if not isinstance(row.get("prompt"), str):
        raise sdcpp.InvalidArgument("a line needs a prompt (a string)")
    refused = sorted(RECIPE_FIELDS & row.keys())
    if refused:
        raise sdcpp.InvalidArgument(f"field(s) not allowed in a prompts line: {', '.join(refused)}")
    request = sdcpp.GenerationRequest.from_dict({**defaults, **row})
    if request.batch_count != 1:
        raise sdcpp.InvalidArgument("batch_count must be 1: give each image its own line and seed")
    return request


def request_settings(request: sdcpp.GenerationRequest, defaults: dict[str, Any]) -> dict[str, Any]:
    """The request's fields that differ from ``defaults`` (``GenerationRequest().to_dict("base64")``),
    as JSON-able data: what the manifest reports, and what the file name is a hash of."""
    return {name: value for name, value in request.to_dict(images="base64").items() if value != defaults[name]}


def file_stem(name: Any, settings: dict[str, Any], model: str) -> str:
    """The PNG's name without ``.png``: the line's ``name`` field, else a hash of the model's file
    name and the settings, so the same (prompt, seed, settings) always maps to the same file."""
    if name is not None:
        if not isinstance(name, str) or not FILE_STEM.match(name) or ".." in name:
            raise sdcpp.InvalidArgument(
                "name must be a plain file name (letters, digits, '.', '_', '-'; no directories)")
        return name[:-4] if name.lower().endswith(".png") else name
    key = json.dumps({"model": os.path.basename(model), "settings": settings}, sort_keys=True)
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:20]


def image_is_complete(path: Path) -> bool:
    """True when ``path`` is a PNG that decodes (a crash or a truncated copy gives False)."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            image.load()
        return True
    except (OSError, SyntaxError, ValueError):
        return False


class Generator:
    """A Ray Data callable class: one Context loaded in ``__init__``, one row in, one record out.

    ``__call__`` takes a batch of input lines (Ray's ``read_text`` rows) and returns one manifest
    record per non-empty line, each as a JSON string (records differ in shape; one string column
    keeps Ray's block schema fixed).
    """

    def __init__(self, model: str, threads: int, output: str, defaults: dict[str, Any],
                 log_level: str = "WARNING") -> None:
        configure_worker_logging(log_level)
        self.model = model
        self.output = Path(output)
        self.defaults = dict(defaults)
        self.request_defaults = sdcpp.GenerationRequest().to_dict(images="base64")
        self.worker = f"{socket.gethostname()}:{os.getpid()}"
        self.context = sdcpp.Context(model, threads=threads)
        LOG.info("worker %s loaded %s with %d threads", self.worker, model, threads)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, list[str]]:
        records = [self.process(str(line)) for line in batch["text"] if str(line).strip()]
        return {"record": [json.dumps(record, default=str) for record in records]}

    def process(self, line: str) -> dict[str, Any]:
        """Generate the image of one prompts line (or skip it, or record why it failed)."""
        started = time.time()
        record: dict[str, Any] = {"status": "failed", "prompt": None, "seed": None, "file": None,
                                  "settings": None, "params": None, "cache_stats": None, "seconds": 0.0,
                                  "started_at": started, "worker": self.worker, "error": None}
        try:
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise sdcpp.InvalidArgument(f"not a JSON line: {exc}") from None
            if not isinstance(row, dict):
                raise sdcpp.InvalidArgument(f"a line must be a JSON object, not {type(row).__name__}")
            name = row.pop("name", None)
            record["prompt"] = row.get("prompt")
            request = line_request(row, self.defaults)
            settings = request_settings(request, self.request_defaults)
            record.update(seed=request.seed, settings=settings)
            target = self.output / f"{file_stem(name, settings, self.model)}.png"
            record["file"] = target.name
            if target.exists() and image_is_complete(target):
                record["status"] = "skipped"
                return record
            result = self.context.generate(request)
            result.save(target)
            record.update(status="generated", seed=result.seeds[0], params=result.params,
                          cache_stats={"full_evaluations": result.cache_stats.full_evaluations,
                                       "reused_evaluations": result.cache_stats.reused_evaluations})
        except sdcpp.SdcppError as exc:
            record["error"] = f"{type(exc).__name__}: {exc}"
            record["input"] = line
            LOG.warning("line failed: %s", record["error"])
        record["seconds"] = round(time.time() - started, 4)
        record["worker_peak_rss_mb"] = peak_rss_mb()
        return record


def peak_rss_mb() -> Optional[float]:
    """This process's peak resident memory in MiB (what one worker needs), where the OS says."""
    try:
        import resource
    except ImportError:  # not on Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


def block_count(prompts: str, workers: int) -> int:
    """How many blocks Ray splits the prompts into: one line per block for a local file (up to
    MAX_BLOCKS), so idle workers always find work; else 200 blocks per worker."""
    if os.path.isfile(prompts):
        with open(prompts, "rb") as lines:
            count = sum(1 for line in lines if line.strip())
        return max(1, min(count, MAX_BLOCKS))
    return max(1, workers * 200)


def read_manifest(path: Path) -> dict[str, dict[str, Any]]:
    """The records of an earlier run that made their image, by file name."""
    records: dict[str, dict[str, Any]] = {}
    if path.is_file():
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(record, dict) and record.get("file") and record.get("status") != "failed":
                    records[record["file"]] = record
    return records


def remove_partial_files(output: Path) -> int:
    """Delete temporary image files left by a process that was killed while writing."""
    removed = 0
    for path in output.glob(".*.partial"):
        path.unlink(missing_ok=True)
        removed += 1
    return removed


def run(args: argparse.Namespace) -> collections.Counter[str]:
    """Generate every line of ``args.prompts`` on Ray; write the manifest; return the status counts."""
    import ray
    import ray.data

    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    remove_partial_files(output)
    if args.address is not None:
        ray.init(address=args.address)
    elif not ray.is_initialized():
        ray.init(include_dashboard=False)  # a local run needs no dashboard; a cluster has its own
    # The read costs no CPU: the actors may hold every CPU of the cluster without starving it.
    lines = ray.data.read_text(args.prompts, num_cpus=0,
                               override_num_blocks=block_count(args.prompts, args.workers))
    # Ray Data restarts dead actors and retries their tasks by default (max_restarts=-1,
    # max_task_retries=-1); bounds given on the command line go to Ray as they are.
    fault_tolerance = {name: value for name, value in (("max_restarts", args.max_restarts),
                                                       ("max_task_retries", args.max_task_retries))
                       if value is not None}
    records = lines.map_batches(
        Generator,
        fn_constructor_kwargs={"model": args.model, "threads": args.threads_per_worker,
                               "output": os.fspath(output.resolve()), "defaults": generation_defaults(args),
                               "log_level": args.log_level},
        compute=ray.data.ActorPoolStrategy(size=args.workers),
        num_cpus=args.threads_per_worker,
        batch_size=1,
        **fault_tolerance,
    )
    manifest = output / MANIFEST_NAME
    earlier = read_manifest(manifest)
    counts: collections.Counter[str] = collections.Counter()
    partial = manifest.with_name(manifest.name + ".partial")
    try:
        with partial.open("w", encoding="utf-8") as out:
            for row in records.iter_rows():
                record = json.loads(row["record"])
                if record["status"] == "skipped" and record["file"] in earlier:
                    record = {**earlier[record["file"]], "status": "skipped"}
                out.write(json.dumps(record) + "\n")
                counts[record["status"]] += 1
        os.replace(partial, manifest)
    finally:
        partial.unlink(missing_ok=True)  # a failed run keeps the earlier manifest as it was
    return counts


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Parse the command line, run, print a summary; exit status 0 when the run completed."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.workers < 1 or args.threads_per_worker < 1:
        parser.error("--workers and --threads-per-worker must be at least 1")
    if not os.path.isfile(args.prompts) and "://" not in args.prompts:
        parser.error(f"--prompts: no such file: {args.prompts}")
    if args.address is None and not os.path.isfile(args.model):
        parser.error(f"--model: no such file: {args.model}")
    try:  # a bad default fails here, not once per line
        line_request({"prompt": ""}, generation_defaults(args))
    except sdcpp.InvalidArgument as exc:
        parser.error(str(exc))
    started = time.time()
    counts = run(args)
    seconds = time.time() - started
    summary = ", ".join(f"{counts[status]} {status}" for status in STATUSES)
    print(f"{summary} in {seconds:.1f} s; manifest: {Path(args.output) / MANIFEST_NAME}")
    if counts["failed"]:
        print(f"{counts['failed']} line(s) failed: their errors are in the manifest", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
