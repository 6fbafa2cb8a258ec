"""Compare engine builds (llamafile on/off, OpenMP vs ggml's threadpool, portable vs native) in one run.

    python -m benchmarks.builds --build main= --build old=/work/perf/so/nollamafile.so \\
        --model .cache/synthetic/sd15-synthetic-v1-seed0-q8_0.gguf --size 256 --threads 2
    python -m benchmarks.builds --build omp= --build passive= --env passive:OMP_WAIT_POLICY=passive --model M

Each ``--build NAME=PATH`` names a compiled extension module (``_sdcpp*.so`` from some build
directory), or a directory holding a whole ``sdcpp`` package with its module; an empty PATH means
the installed one. Every build runs in its own subprocess with
that module put in place of ``sdcpp._sdcpp`` (the Python package itself is the same), so one run
compares builds on the same machine, model and load. Per sampler step is
(time(long steps) - time(short steps)) / (long - short), with the engine's sampling stage timer
(wall time for a build that does not log it), median over the repeats; the VAE decode is the
engine's decode stage timer, median over every generation (short and long). Builds take
turns repeat by repeat, so a load change on the shared machine hits them alike.
"""
from __future__ import annotations

import argparse
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any, Optional, Sequence

REPO = Path(__file__).resolve().parent.parent
RESULT_MARK = "BUILDS-RESULT "


class _ExtensionFinder(importlib.abc.MetaPathFinder):
    """Finds ``sdcpp._sdcpp`` at a given path, ahead of the installed (editable) package's finder."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def find_spec(self, fullname: str, path: Optional[Sequence[str]] = None,
                  target: Optional[ModuleType] = None) -> Optional[importlib.machinery.ModuleSpec]:
        if fullname != "sdcpp._sdcpp":
            return None
        loader = importlib.machinery.ExtensionFileLoader(fullname, str(self.path))
        return importlib.util.spec_from_file_location(fullname, str(self.path), loader=loader)


class _PackageFinder(importlib.abc.MetaPathFinder):
    """Finds the whole ``sdcpp`` package (Python files and compiled module) under another directory."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def find_spec(self, fullname: str, path: Optional[Sequence[str]] = None,
                  target: Optional[ModuleType] = None) -> Optional[importlib.machinery.ModuleSpec]:
        if fullname != "sdcpp" and not fullname.startswith("sdcpp."):
            return None
        return importlib.machinery.PathFinder.find_spec(fullname, list(path) if path else [str(self.root)])


def use_extension(path: Optional[Path]) -> None:
    """Make ``import sdcpp`` load another build (None: the installed one). ``path`` is a compiled
    module (``_sdcpp*.so``; the installed Python files) or a directory holding a complete ``sdcpp``
    package with its module (a build of another source tree, e.g. an exported commit, whose patch
    series differs from this checkout's). Call before the first ``import sdcpp``."""
    if "sdcpp" in sys.modules:
        raise RuntimeError("use_extension() must run before sdcpp is imported")
    if path is None:
        return
    path = path.resolve()
    sys.meta_path.insert(0, _PackageFinder(path) if path.is_dir() else _ExtensionFinder(path))


def _tolerate_older_module() -> None:
    """Modules built before build_info() had "cpu_features" lack sdcpp_cpu_features(): report "?"."""
    import functools

    import sdcpp.info
    from sdcpp._ffi import lib

    if hasattr(lib, "sdcpp_cpu_features"):
        return
    @functools.lru_cache(maxsize=1)
    def older_build_info() -> dict[str, str]:
        from sdcpp._ffi import BACKEND, PACKAGE_VERSION, PATCH_SERIES_HASH, to_str

        return {"sdcpp": PACKAGE_VERSION, "engine": sdcpp.info.ENGINE_SOURCE,
                "engine_version": to_str(lib.sd_version()), "engine_commit": to_str(lib.sd_commit()),
                "patch_series": PATCH_SERIES_HASH, "backend": BACKEND,
                "physical_cores": str(int(lib.sd_get_num_physical_cores())), "cpu_features": "?"}

    sdcpp.info._build_info = older_build_info  # type: ignore[assignment]


def _worker(config: dict[str, Any]) -> dict[str, Any]:
    use_extension(Path(config["so"]) if config["so"] else None)
    import sdcpp

    from .measure import measure

    _tolerate_older_module()

    options = dict(prompt="a lighthouse at dusk", width=config["size"], height=config["size"], cfg_scale=7.0,
                   sampling_method="euler", seed=42)
    extra = dict(config.get("context", {}))
    with sdcpp.Context(config["model"], threads=config["threads"], **extra) as context:
        context.generate(steps=1, **{**options, "width": 64, "height": 64})  # warm-up: graphs, pages
        times: dict[str, float] = {}
        sampling: dict[str, Optional[float]] = {}
        decode: dict[str, Optional[float]] = {}
        for steps in (config["short"], config["long"]):
            record = measure(context, config["name"], steps=steps, **options)
            times[str(steps)] = record.wall_s
            sampling[str(steps)] = record.sampling_s
            decode[str(steps)] = record.stages.get("decode_s")
        return {"features": sdcpp.build_info()["cpu_features"], "threads": context.threads, "times": times,
                "sampling": sampling, "decode": decode}


def _run_worker(config: dict[str, Any]) -> dict[str, Any]:
    command = [sys.executable, "-m", "benchmarks.builds", "--worker", json.dumps(config)]
    environment = {**os.environ, **config.get("env", {})}
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False, env=environment)
    for line in done.stdout.splitlines():
        if line.startswith(RESULT_MARK):
            result: dict[str, Any] = json.loads(line[len(RESULT_MARK):])
            return result
    raise RuntimeError(f"worker for {config['name']} failed:\n{done.stderr[-3000:]}")


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--build", action="append", default=[], metavar="NAME=PATH",
                        help="a compiled _sdcpp module to measure (empty PATH: the installed one)")
    parser.add_argument("--env", action="append", default=[], metavar="NAME:KEY=VALUE",
                        help="an environment variable for one build's runs, e.g. omp-passive:OMP_WAIT_POLICY=passive")
    parser.add_argument("--model", type=Path, required=False)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--threads", type=int, default=-1)
    parser.add_argument("--short", type=int, default=2)
    parser.add_argument("--long", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--context", default="{}", help="extra Context keyword arguments, as JSON")
    parser.add_argument("--out", type=Path, help="write the rows as JSON here")
    args = parser.parse_args(argv)
    if args.worker:
        print(RESULT_MARK + json.dumps(_worker(json.loads(args.worker))), flush=True)
        return 0
    if not args.build or args.model is None:
        parser.error("give --model and at least one --build NAME=PATH")
    builds = [item.split("=", 1) for item in args.build]
    environments: dict[str, dict[str, str]] = {name: {} for name, _ in builds}
    for item in args.env:
        name, assignment = item.split(":", 1)
        key, value = assignment.split("=", 1)
        environments[name][key] = value
    per_step: dict[str, list[float]] = {name: [] for name, _ in builds}
    rows: dict[str, list[dict[str, Any]]] = {name: [] for name, _ in builds}
    for repeat in range(args.repeats):
        for name, so in builds:
            config = {"name": name, "so": so, "model": str(args.model), "size": args.size, "threads": args.threads,
                      "short": args.short, "long": args.long, "context": json.loads(args.context),
                      "env": environments[name]}
            result = _run_worker(config)
            # the sampling stage's own timer (the VAE decode's run-to-run spread stays out), else wall time
            times = result["sampling"] if None not in result.get("sampling", {None: None}).values() else result["times"]
            step = (times[str(args.long)] - times[str(args.short)]) / (args.long - args.short)
            per_step[name].append(step)
            rows[name].append(result)
            decodes = ", ".join(f"{value:.2f}" for value in vae_decodes([result])) or "-"
            print(f"repeat {repeat + 1} {name}: {step:.3f} s/step, {args.short} steps {times[str(args.short)]:.2f} s, "
                  f"VAE decode {decodes} s, threads {result['threads']}, features {result['features']}", flush=True)
    baseline = statistics.median(per_step[builds[0][0]])
    print(f"\nsize {args.size}, model {args.model.name}, per step (median of {args.repeats}) and VAE decode "
          f"(median of every generation), ratio to {builds[0][0]}:")
    for name, _ in builds:
        value = statistics.median(per_step[name])
        decode = decode_against_first(rows[name], rows[builds[0][0]])
        decode_cell = f"  VAE decode {decode[0]:7.3f} s  {decode[1]:5.2f}x" if decode else ""
        print(f"  {name:20s} {value:7.3f} s/step  {value / baseline:5.2f}x{decode_cell}")
    if args.out:
        document = {"schema": "sdcpp-builds/1", "argv": sys.argv, "size": args.size, "model": args.model.name,
                    "per_step": per_step, "rows": rows}
        args.out.write_text(json.dumps(document, indent=1))
    return 0


def outside_sampling(runs: list[dict[str, Any]]) -> list[float]:
    """Wall time outside the sampling stage (text encoding + VAE decode + overhead) of every generation
    whose sampling time was logged."""
    return [run["times"][steps] - run["sampling"][steps] for run in runs
            for steps in run.get("sampling", {}) if steps in run.get("times", {})]


def vae_decodes(runs: list[dict[str, Any]]) -> list[float]:
    """The engine's VAE-decode stage time of every generation that logged it (files from before it
    was recorded have none)."""
    return [value for run in runs for value in run.get("decode", {}).values() if value is not None]


def decode_against_first(runs: list[dict[str, Any]], first_runs: list[dict[str, Any]]) -> Optional[tuple[float, float]]:
    """The median VAE decode of ``runs`` and its ratio to that of ``first_runs``; None where either
    has none."""
    decodes, first = vae_decodes(runs), vae_decodes(first_runs)
    if not decodes or not first:
        return None
    return statistics.median(decodes), statistics.median(decodes) / statistics.median(first)


def markdown(document: dict[str, Any]) -> str:
    """The per-step table of a results file (``--out``); files from before "schema" render too."""
    per_step = document["per_step"]
    first = statistics.median(next(iter(per_step.values())))
    argv = " ".join(["python", "-m", "benchmarks.builds", *document["argv"][1:]])
    lines = [f"Builds compared in one run (`{argv}`); outside sampling = text encoding + VAE decode "
             "(wall time minus the sampling stage, median over every generation):", "",
             "| build | per step | ratio | repeats | outside sampling | VAE decode | ratio | CPU features |",
             "|---|---|---|---|---|---|---|---|"]
    first_runs = next(iter(document["rows"].values()), [])
    for name, values in per_step.items():
        runs = document["rows"].get(name) or []
        features = runs[0].get("features", "?") if runs else "?"
        rest = outside_sampling(runs)
        rest_cell = f"{statistics.median(rest):.2f} s" if rest else "-"
        decode = decode_against_first(runs, first_runs)
        decode_cell, decode_ratio = (f"{decode[0]:.2f} s", f"{decode[1]:.2f}x") if decode else ("-", "-")
        lines.append(f"| {name} | {statistics.median(values):.2f} s | {statistics.median(values) / first:.2f}x | "
                     f"{', '.join(f'{v:.2f}' for v in values)} | {rest_cell} | {decode_cell} | {decode_ratio} | "
                     f"{features} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
