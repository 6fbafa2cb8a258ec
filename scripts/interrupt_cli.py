"""Send SIGINT to sdcpp-cli at random moments of a run (loading, sampling, decoding, writing)
and check each time: non-zero exit, prompt exit, and no partial file at the output path.

    python scripts/interrupt_cli.py --trials 20 [--model PATH] [--json out.json]

Prints one line per trial and a JSON summary; exits 1 if any trial breaks a rule.
"""
from __future__ import annotations

import argparse
import json
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from PIL import Image

PHASES = (("generating image", "sampling"), ("decoding ", "decoding"),
          ("decode_first_stage completed", "writing"), ("save result image", "written"))


def _phase(log: str) -> str:
    phase = "loading"
    for marker, name in PHASES:
        if marker in log:
            phase = name
    return phase


def _command(model: str, output: Path, steps: int) -> list[str]:
    return [sys.executable, "-m", "sdcpp.cli", "-m", model, "-p", "a cat", "-W", "64", "-H", "64",
            "--steps", str(steps), "-t", "2", "-v", "-o", str(output)]


def trial(model: str, delay: float, steps: int, workdir: Path) -> dict[str, Any]:
    """One run interrupted after ``delay`` seconds."""
    output = workdir / "out.png"
    with tempfile.TemporaryFile("w+") as log, subprocess.Popen(
            _command(model, output, steps), stdout=subprocess.DEVNULL, stderr=log, text=True) as process:
        time.sleep(delay)
        log.flush()
        log.seek(0)
        phase = _phase(log.read()) if process.poll() is None else "exited"
        sent = time.monotonic()
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        code = process.wait(timeout=300)
        stop_seconds = time.monotonic() - sent
    leftovers = [p.name for p in workdir.iterdir() if p != output]
    complete = False
    if output.exists():
        try:
            with Image.open(output) as image:
                image.load()
                complete = image.size == (64, 64)
        except OSError:
            complete = False
        output.unlink()
    for name in leftovers:
        (workdir / name).unlink()
    ok = not leftovers and (complete if code == 0 else not output.exists() and code != 0)
    return {"delay": round(delay, 2), "phase": phase, "exit": code, "stop_seconds": round(stop_seconds, 2),
            "output_complete": complete, "leftovers": leftovers, "ok": ok}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--model", default=None, help="default: the synthetic SD1.x q8_0 model")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    model = args.model
    if model is None:
        from sdcpp.testing import ensure_synthetic_model

        model = str(ensure_synthetic_model("sd15", "q8_0", cache_dir=Path(__file__).resolve().parent.parent / ".cache"))
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as directory:
        workdir = Path(directory)
        started = time.monotonic()
        subprocess.run(_command(model, workdir / "full.png", args.steps), check=True, capture_output=True)
        full_seconds = time.monotonic() - started
        (workdir / "full.png").unlink()
        results = []
        for index in range(args.trials):
            # Every third trial lands in the first fifth of the run (model loading), the others anywhere.
            upper = full_seconds * (0.2 if index % 3 == 0 else 1.05)
            result = trial(model, rng.uniform(0.2, upper), args.steps, workdir)
            results.append(result)
            print(json.dumps(result), flush=True)
    summary = {"trials": len(results), "full_run_seconds": round(full_seconds, 1),
               "phases": {p: sum(r["phase"] == p for r in results) for p in {r["phase"] for r in results}},
               "max_stop_seconds": max(r["stop_seconds"] for r in results if r["exit"] != 0) if results else 0,
               "violations": [r for r in results if not r["ok"]]}
    print(json.dumps(summary, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps({"summary": summary, "trials": results}, indent=2))
    return 1 if summary["violations"] else 0


if __name__ == "__main__":
    sys.exit(main())
