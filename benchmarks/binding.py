"""Binding overhead: the same generation through sdcpp's Python API and through the engine's own
sd-cli built from the same patched tree (benchmarks/build_engine_cli.py), each in a fresh process,
alternated A B A B ... so that machine drift cancels.

Reported: process wall time, the engine's own generate_image and sampling timers, and peak RSS
(the child's ru_maxrss from wait4), as ratios Python / sd-cli; and whether the two images are equal.
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import numpy as np
from PIL import Image

from .measure import load_average, parse_stage_times

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class BindingCase:
    model: Path
    size: int = 128
    steps: int = 6
    cfg_scale: float = 7.0
    method: str = "euler"
    threads: int = 2
    seed: int = 42
    prompt: str = "a photograph of an astronaut riding a horse"


def _vm_hwm_kib(pid: int) -> int:
    """Peak resident set (VmHWM) of a running process, KiB; 0 if it cannot be read."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _run_child(command: list[str]) -> tuple[float, float, float, str, int]:
    """(wall seconds, CPU seconds (user + system), peak RSS MiB, combined output, exit status) of
    one child process. CPU time barely depends on other load when the child runs one thread."""
    with tempfile.TemporaryFile("w+") as output:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, cwd=REPO)
        peak_kib = 0
        while True:  # VmHWM of the child's own address space (ru_maxrss would include the parent's at fork)
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid != 0:
                break
            peak_kib = max(peak_kib, _vm_hwm_kib(process.pid))
            time.sleep(0.05)
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        output.seek(0)
        return wall, usage.ru_utime + usage.ru_stime, peak_kib / 1024.0, output.read(), process.returncode


def python_command(case: BindingCase, out: Path) -> list[str]:
    return [sys.executable, "-m", "benchmarks.api_worker", str(case.model), str(out), "--prompt", case.prompt,
            "--size", str(case.size), "--steps", str(case.steps), "--cfg-scale", str(case.cfg_scale),
            "--sampling-method", case.method, "--threads", str(case.threads), "--seed", str(case.seed)]


def cli_command(executable: Path, case: BindingCase, out: Path) -> list[str]:
    return [str(executable), "-m", str(case.model), "-p", case.prompt, "-o", str(out), "-W", str(case.size),
            "-H", str(case.size), "--steps", str(case.steps), "--cfg-scale", str(case.cfg_scale),
            "--sampling-method", case.method, "-t", str(case.threads), "-s", str(case.seed)]


def _one(kind: str, command: list[str], out: Path) -> dict[str, Any]:
    load_before = load_average()
    for attempt in range(6):  # the package is edited concurrently on shared machines: retry an import error
        wall, cpu, peak, text, status = _run_child(command)
        if status == 0 or kind != "python" or "ImportError" not in text or attempt == 5:
            break
        time.sleep(10)
    if status != 0:
        raise RuntimeError(f"{kind} run failed ({status}):\n{text[-3000:]}")
    stages = parse_stage_times(text.splitlines())
    if kind == "python":
        worker = json.loads(text.strip().splitlines()[-1])
        stages = worker["stages"]
        extra = {key: worker[key] for key in ("import_s", "load_s", "generate_call_s")}
    else:
        extra = {}
    return {"kind": kind, "wall_s": wall, "cpu_s": cpu, "peak_rss_mib": peak, "stages": stages, "load_before": load_before,
            "load_after": load_average(), "log_tail": text.splitlines()[-12:], **extra}


def _ratio(runs: list[dict[str, Any]], field: str) -> Optional[float]:
    def values(kind: str) -> list[float]:
        found = []
        for run in runs:
            if run["kind"] == kind:
                value = run["stages"][field] if field in run["stages"] else run.get(field)
                if value is not None:
                    found.append(float(value))
        return found

    python, cli = values("python"), values("sd-cli")
    if not python or not cli:
        return None
    return statistics.median(python) / statistics.median(cli)


def measure_binding(case: BindingCase, executable: Path, pairs: int = 2) -> dict[str, Any]:
    """ABAB...: ``pairs`` runs of each, alternating, Python first in even pairs and sd-cli first in odd."""
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as scratch:
        outputs = {"python": Path(scratch) / "python.png", "sd-cli": Path(scratch) / "cli.png"}
        commands = {"python": python_command(case, outputs["python"]),
                    "sd-cli": cli_command(executable, case, outputs["sd-cli"])}
        for pair in range(pairs):
            order = ("python", "sd-cli") if pair % 2 == 0 else ("sd-cli", "python")
            for kind in order:
                runs.append(_one(kind, commands[kind], outputs[kind]))
                print(f"[binding] {kind:<7} wall {runs[-1]['wall_s']:6.2f}s peak {runs[-1]['peak_rss_mib']:6.0f} MiB "
                      f"generate {runs[-1]['stages'].get('generate_s')}s", flush=True)
        images = [np.asarray(Image.open(outputs[kind]).convert("RGB")) for kind in ("python", "sd-cli")]
    case_data = {key: (str(value) if isinstance(value, Path) else value) for key, value in case.__dict__.items()}
    return {"case": case_data, "executable": str(executable), "runs": runs,
            "images_identical": bool(np.array_equal(images[0], images[1])),
            "wall_ratio": _ratio(runs, "wall_s"), "cpu_ratio": _ratio(runs, "cpu_s"), "generate_ratio": _ratio(runs, "generate_s"),
            "sampling_ratio": _ratio(runs, "sampling_s"), "peak_rss_ratio": _ratio(runs, "peak_rss_mib")}
