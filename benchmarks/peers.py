"""sdcpp against the engines a CPU user would otherwise pick, on the same SD1.5 weights, in one run.

    python -m benchmarks.peers                       # 256x256, threads = physical cores
    python -m benchmarks.peers --sizes 256 512 --threads 2 --repeats 2

Engines: sdcpp on the synthetic SD1.5 checkpoint as f16 safetensors and as q8_0 / q4_0 GGUF, each
with and without DeepCache (interval 2, depth 0), and q4_0 once more in the plain weight layout
(``weight_repack=False``); PyTorch/diffusers fp32 and OpenVINO f32
(benchmarks/peer_models.py) on the same f16 checkpoint. Everything runs at the same size and thread
count (sdcpp threads, torch.set_num_threads, OpenVINO INFERENCE_NUM_THREADS), cfg 7, Euler.

Each engine runs in its own subprocess, so its peak RSS is its own: load, one warm-up generation,
then ``--repeats`` pairs of generations with ``--short`` and ``--long`` steps. Per sampler step
(two U-Net evaluations) is (time(long) - time(short)) / (long - short), so text encoding and VAE
decoding cancel out; with DeepCache interval 2 the difference of 2 and 6 steps holds whole cycles
(2 full + 2 reused evaluations per conditioning), so it is the true average. VAE decode and text
encoding are timed on their own (sdcpp's stage timers; wall clock around the peers' calls);
end-to-end is the wall time of the ``--long`` generation. Medians over the repeats; every ratio
compares numbers from this one run.

Writes benchmarks/results/peers-<size>.json and .md. Needs the ``peers`` extra.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Optional, Sequence

REPO = Path(__file__).resolve().parent.parent
RESULTS_DIR = REPO / "benchmarks" / "results"
DEFAULT_CACHE = REPO / ".cache"
RESULT_MARK = "PEERS-RESULT "
PROMPT = "a lighthouse at dusk"
SDCPP_TYPES = ("f16", "q8_0", "q4_0")
DEEPCACHE = (2, 0)
# Types whose matrices the engine repacks for this CPU's kernels by default (patch 0006): these also
# get a row with the plain layout, to show what repacking buys.
REPACKED_TYPES = ("q4_0",)


def engines(types: Sequence[str] = SDCPP_TYPES, deepcache: bool = True) -> list[dict[str, Any]]:
    """What one run measures, in order: OpenVINO and PyTorch first (the references), then sdcpp."""
    plan: list[dict[str, Any]] = [{"name": "OpenVINO f32", "kind": "openvino"},
                                  {"name": "PyTorch fp32", "kind": "torch"}]
    for weight_type in types:
        plan.append({"name": f"sdcpp {weight_type}", "kind": "sdcpp", "type": weight_type})
        if weight_type in REPACKED_TYPES:
            plan.append({"name": f"sdcpp {weight_type}, plain layout", "kind": "sdcpp", "type": weight_type,
                         "context": {"weight_repack": False}})
        if deepcache:
            plan.append({"name": f"sdcpp {weight_type} + DeepCache N={DEEPCACHE[0]} d={DEEPCACHE[1]}",
                         "kind": "sdcpp", "type": weight_type, "deepcache": list(DEEPCACHE)})
    return plan


def model_files(cache_dir: Path, types: Sequence[str]) -> dict[str, Path]:
    """The synthetic SD1.5 checkpoint (f16 safetensors) and its GGUF conversions, made when missing."""
    from sdcpp.testing import ensure_synthetic_checkpoint, ensure_synthetic_model

    files = {"f16": ensure_synthetic_checkpoint("sd15", "f16", cache_dir=cache_dir)}
    for weight_type in types:
        if weight_type != "f16":
            files[weight_type] = ensure_synthetic_model("sd15", weight_type, cache_dir=cache_dir)
    return files


def peak_rss_mib() -> float:
    """This process's peak resident set size so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


# --- workers (one engine per subprocess) ---------------------------------------------------------

def _sdcpp_worker(config: dict[str, Any]) -> dict[str, Any]:
    import sdcpp

    from .measure import measure

    started = time.perf_counter()
    context = sdcpp.Context(config["model"], threads=config["threads"], **config.get("context", {}))
    load_s = time.perf_counter() - started
    options: dict[str, Any] = dict(prompt=PROMPT, width=config["size"], height=config["size"], cfg_scale=7.0,
                                   sampling_method="euler", seed=42)
    if config.get("deepcache"):
        options["deepcache"] = sdcpp.DeepCache(*config["deepcache"])

    def run(steps: int) -> dict[str, Any]:
        record = measure(context, config["name"], steps=steps, **options)
        return {"wall_s": record.wall_s, "cpu_s": record.cpu_s, "conditioning_s": record.stages.get("conditioning_s"),
                "sampling_s": record.sampling_s, "decode_s": record.stages.get("decode_s"),
                "full": record.full_evaluations, "reused": record.reused_evaluations}

    # Warm-up at 64x64, one step: pages in every weight and sets the threads up, at little cost.
    context.generate(steps=1, **{**options, "width": 64, "height": 64})
    info = sdcpp.build_info()
    try:
        return _repeat(run, config, load_s, warmup=False,
                       extra={"threads_used": context.threads, "cpu_features": info["cpu_features"],
                              "engine_commit": info["engine_commit"]})
    finally:
        context.close()


def _peer_worker(config: dict[str, Any]) -> dict[str, Any]:
    import torch

    from . import peer_models

    torch.set_num_threads(config["threads"])
    started = time.perf_counter()
    model: Any
    if config["kind"] == "torch":
        model = peer_models.TorchSD15(Path(config["model"]))
    else:
        paths = {name: Path(path) for name, path in config["ir"].items()}
        model = peer_models.OpenVinoSD15(paths, config["threads"])
    load_s = time.perf_counter() - started

    def run(steps: int) -> dict[str, Any]:
        record = peer_models.generate(model, config["size"], steps)
        record.pop("image")
        return record

    return _repeat(run, config, load_s, extra={"threads_used": torch.get_num_threads()})


def _repeat(run: Any, config: dict[str, Any], load_s: float, extra: dict[str, Any],
            warmup: bool = True) -> dict[str, Any]:
    """A warm-up run (unless the worker made its own), then ``repeats`` (short, long) pairs."""
    warmed = run(config["short"]) if warmup else None
    pairs = [(run(config["short"]), run(config["long"])) for _ in range(config["repeats"])]
    return {"load_s": load_s, "warmup": warmed, "pairs": pairs, "peak_rss_mib": peak_rss_mib(),
            "load_average": list(os.getloadavg()), **extra}


def _convert_worker(config: dict[str, Any]) -> dict[str, Any]:
    from . import peer_models

    started = time.perf_counter()
    paths = peer_models.convert_to_openvino(Path(config["model"]), Path(config["ir_dir"]), config["size"])
    return {"ir": {name: str(path) for name, path in paths.items()}, "convert_s": time.perf_counter() - started,
            "peak_rss_mib": peak_rss_mib()}


WORKERS = {"sdcpp": _sdcpp_worker, "torch": _peer_worker, "openvino": _peer_worker, "convert": _convert_worker}


def _run_worker(config: dict[str, Any], timeout_s: float) -> dict[str, Any]:
    command = [sys.executable, "-m", "benchmarks.peers", "--worker", json.dumps(config)]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=timeout_s, check=False)
    for line in done.stdout.splitlines():
        if line.startswith(RESULT_MARK):
            result: dict[str, Any] = json.loads(line[len(RESULT_MARK):])
            return result
    raise RuntimeError(f"{config['name']} failed (exit {done.returncode}):\n{done.stderr[-4000:]}")


# --- summary -------------------------------------------------------------------------------------

def summarise(result: dict[str, Any], short: int, long: int) -> dict[str, Any]:
    """Medians over the repeats: per step, VAE decode, text encoding, end-to-end (long run)."""
    pairs = result["pairs"]
    # The sampling stage's own timer when every run has it: the VAE decode varies by seconds from
    # run to run on a VM, and a wall-clock difference would carry that into the per-step figure.
    timed = all(run.get("sampling_s") is not None for pair in pairs for run in pair)
    key = "sampling_s" if timed else "wall_s"
    per_step = [(b[key] - a[key]) / (long - short) for a, b in pairs]
    per_step_cpu = [(b["cpu_s"] - a["cpu_s"]) / (long - short) for a, b in pairs if "cpu_s" in a and "cpu_s" in b]
    decode = [run["decode_s"] for pair in pairs for run in pair if run.get("decode_s") is not None]
    encode = [run["conditioning_s"] for pair in pairs for run in pair if run.get("conditioning_s") is not None]
    return {"per_step_s": statistics.median(per_step), "per_step_all_s": per_step, "per_step_from": key,
            "per_step_cpu_s": statistics.median(per_step_cpu) if per_step_cpu else None,
            "decode_s": statistics.median(decode) if decode else None,
            "conditioning_s": statistics.median(encode) if encode else None,
            "end_to_end_s": statistics.median(b["wall_s"] for _, b in pairs),
            "end_to_end_20_s": None}


def _ratio(value: Optional[float], reference: Optional[float]) -> Optional[float]:
    return None if value is None or not reference else value / reference


def with_ratios(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Add ratios against OpenVINO and PyTorch (> 1: slower than the reference) to every row."""
    by_kind = {row["kind"]: row for row in rows if row["kind"] in ("openvino", "torch") and "per_step_s" in row}
    timed = [row for row in rows if "per_step_s" in row]
    for row in timed:  # every row's estimate first: the references' are needed by all rows
        fixed = (row["decode_s"] or 0.0) + (row["conditioning_s"] or 0.0)
        row["end_to_end_20_s"] = fixed + 20 * row["per_step_s"]
    for row in timed:
        for kind, reference in by_kind.items():
            for key in ("per_step_s", "per_step_cpu_s", "decode_s", "end_to_end_s", "end_to_end_20_s"):
                row[f"{key[:-2]}_vs_{kind}"] = _ratio(row.get(key), reference.get(key))
    return rows


def _cell(value: Any, fmt: str, unit: str = "") -> str:
    return "-" if value is None else format(value, fmt) + unit


def markdown(document: dict[str, Any]) -> str:
    """The peers table of one size."""
    size = document["size"]
    lines = [f"## Peers at {size}x{size}", "",
             f"Measured {document['created']} on {document['machine']['cpu']}, {document['threads']} threads, "
             f"cfg 7, Euler, per step = (t({document['long']} steps) - t({document['short']} steps)) / "
             f"{document['long'] - document['short']} with t the sampling stage's time (wall time where an "
             f"engine does not report it), median of {document['repeats']}; load average "
             f"{document['load_average_before']} before, {document['load_average_after']} after; "
             f"`{' '.join(document['argv'])}`.", "",
             "| engine | file | per step | x OpenVINO | x PyTorch | per step, CPU s | x OpenVINO | VAE decode "
             f"| x OpenVINO | x PyTorch | text enc. | end-to-end ({document['long']} steps) | 20 steps (est.) "
             "| x OpenVINO | x PyTorch "
             "| peak RSS |",
             "|" + "---|" * 16]
    for row in document["rows"]:
        if "per_step_s" not in row:
            lines.append(f"| {row['name']} | - | failed: {row.get('error', '?').splitlines()[-1][:80]} |"
                         + " |" * 13)
            continue
        lines.append("| " + " | ".join([
            row["name"], _cell(row["file_mib"], ".0f", " MiB"),
            _cell(row["per_step_s"], ".2f", " s"), _cell(row.get("per_step_vs_openvino"), ".2f", "x"),
            _cell(row.get("per_step_vs_torch"), ".2f", "x"),
            _cell(row.get("per_step_cpu_s"), ".2f", " s"), _cell(row.get("per_step_cpu_vs_openvino"), ".2f", "x"),
            _cell(row["decode_s"], ".2f", " s"), _cell(row.get("decode_vs_openvino"), ".2f", "x"),
            _cell(row.get("decode_vs_torch"), ".2f", "x"), _cell(row["conditioning_s"], ".2f", " s"),
            _cell(row["end_to_end_s"], ".1f", " s"), _cell(row["end_to_end_20_s"], ".1f", " s"),
            _cell(row.get("end_to_end_20_vs_openvino"), ".2f", "x"),
            _cell(row.get("end_to_end_20_vs_torch"), ".2f", "x"),
            _cell(row["peak_rss_mib"], ".0f", " MiB")]) + " |")
    for rerun in document.get("partial_reruns", []):
        lines.insert(3, f"Re-measured {rerun['created']} in a later run: {', '.join(rerun['engines'])}.")
    lines += ["", "Per step, CPU s: the process's CPU time (all threads) per step, the same difference; on a "
              "shared machine it is steadier than wall time, but it also counts threads spinning while they wait.",
              "", "x > 1: slower than the reference. File: what the engine reads (the peers read the f16 "
              "safetensors and hold fp32 in memory; OpenVINO's IR is f32). 20 steps (est.) = text encoding + "
              "VAE decode + 20 x per step."]
    return "\n".join(lines) + "\n"


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--sizes", type=int, nargs="+", default=[256])
    parser.add_argument("--threads", type=int, default=0, help="default: the engine's physical core count")
    parser.add_argument("--short", type=int, default=2)
    parser.add_argument("--long", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--types", nargs="+", default=list(SDCPP_TYPES), choices=SDCPP_TYPES)
    parser.add_argument("--no-deepcache", action="store_true")
    parser.add_argument("--only", nargs="+", help="run only engines whose name contains one of these")
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE, help="synthetic models and OpenVINO IR")
    parser.add_argument("--out-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds per engine")
    parser.add_argument("--refresh", type=Path, nargs="+", metavar="FILE",
                        help="recompute these results files' tables from their raw runs, and exit")
    args = parser.parse_args(argv)
    if args.refresh:
        for path in args.refresh:
            refresh(path)
        return 0
    if args.worker:
        config = json.loads(args.worker)
        print(RESULT_MARK + json.dumps(WORKERS[config["kind"]](config)), flush=True)
        return 0

    import sdcpp

    from .results import clean, machine

    threads = args.threads or int(sdcpp.build_info()["physical_cores"])
    files = model_files(args.cache_dir, args.types)
    plan = engines(args.types, deepcache=not args.no_deepcache)
    if args.only:
        plan = [item for item in plan if any(part in item["name"] for part in args.only)]
    for size in args.sizes:
        document: dict[str, Any] = {"schema": "sdcpp-peers/1", "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                                    "argv": ["python", "-m", "benchmarks.peers", *(argv or sys.argv[1:])],
                                    "machine": machine(), "size": size, "threads": threads, "short": args.short,
                                    "long": args.long, "repeats": args.repeats,
                                    "load_average_before": [round(v, 2) for v in os.getloadavg()], "rows": []}
        previous = args.out_dir / f"peers-{size}.json"
        if args.only and previous.exists():  # re-measure some engines: keep the other rows of the file
            kept = json.loads(previous.read_text())
            names = {item["name"] for item in plan}
            document["rows"] = [row for row in kept["rows"] if row["name"] not in names]
            document["partial_reruns"] = kept.get("partial_reruns", []) + [
                {"created": document["created"], "engines": sorted(names)}]
            document["created"] = kept["created"]
            document["load_average_before"] = kept["load_average_before"]
        for item in plan:
            config = {**item, "size": size, "threads": threads, "short": args.short, "long": args.long,
                      "repeats": args.repeats}
            model = files[item.get("type", "f16")]
            config["model"] = str(model)
            row: dict[str, Any] = {**item, "file_mib": model.stat().st_size / 2**20}
            try:
                if item["kind"] == "openvino":
                    converted = _run_worker({"name": "convert", "kind": "convert", "model": str(model), "size": size,
                                             "ir_dir": str(args.cache_dir / "openvino")}, args.timeout)
                    config["ir"] = converted["ir"]
                    row["file_mib"] = sum(Path(p).with_suffix(".bin").stat().st_size for p in converted["ir"].values()) / 2**20
                    row["convert"] = converted
                result = _run_worker(config, args.timeout)
                row.update(result)
                row.update(summarise(result, args.short, args.long))
                print(f"{size} {item['name']}: {row['per_step_s']:.2f} s/step, decode {_cell(row['decode_s'], '.2f')} s, "
                      f"end-to-end {row['end_to_end_s']:.1f} s, peak RSS {row['peak_rss_mib']:.0f} MiB", flush=True)
            except (RuntimeError, subprocess.TimeoutExpired) as error:
                row["error"] = str(error)
                print(f"{size} {item['name']}: FAILED {str(error)[-500:]}", file=sys.stderr, flush=True)
            document["rows"].append(row)
            order = [entry["name"] for entry in engines()]
            document["rows"].sort(key=lambda r: order.index(r["name"]) if r["name"] in order else len(order))
            document["rows"] = with_ratios(document["rows"])
            document["load_average_after"] = [round(v, 2) for v in os.getloadavg()]
            args.out_dir.mkdir(parents=True, exist_ok=True)
            (args.out_dir / f"peers-{size}.json").write_text(json.dumps(clean(document), indent=1))
            (args.out_dir / f"peers-{size}.md").write_text(markdown(document))
        print(markdown(document))
    return 0


def refresh(path: Path) -> None:
    """Recompute a results file's summaries and ratios from its raw runs (after a change here)."""
    document = json.loads(path.read_text())
    rows = []
    for row in document["rows"]:
        if "pairs" in row:
            row.update(summarise(row, document["short"], document["long"]))
        rows.append(row)
    document["rows"] = with_ratios(rows)
    path.write_text(json.dumps(document, indent=1))
    path.with_suffix(".md").write_text(markdown(document))


if __name__ == "__main__":
    sys.exit(main())
