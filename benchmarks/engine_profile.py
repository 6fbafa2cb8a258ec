"""Where a sdcpp U-Net step and a VAE decode spend their CPU time, and what the engine's switches change.

    python -m benchmarks.engine_profile ops --model M.gguf --size 256        # perf samples per op
    python -m benchmarks.engine_profile switches --model M.gguf --size 256   # flash attention, VAE levers

``ops`` runs one generation (cfg 7, Euler, 2 steps) under ``perf record -k mono`` (Debian's
linux-perf), notes the CLOCK_MONOTONIC bounds of the sampling and VAE-decode phases from the
engine's log lines, and counts the samples of each phase by operation (matrix products by kernel,
im2col, norms, softmax, copies, threading). Samples count CPU time of this process only, so the
shares hold on a loaded machine.

``switches`` keeps Contexts loaded and alternates them A B B A: the default (flash attention in the
U-Net on CPU builds) against ``diffusion_flash_attn=False``, per step = (sampling(3 steps) -
sampling(1 step)) / 2 by the engine's sampling timer. VAE decode (the engine's stage timer) is
compared on the default Context with and without ``vae_tiling`` and on Contexts with
``vae_conv_direct=True`` and with ``flash_attn=True`` (the VAE's attention too), in the same
alternation.

Writes benchmarks/results/engine-profile-<size>.json (and prints Markdown).
"""
from __future__ import annotations

import argparse
import json
import logging
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any, Optional, Sequence

REPO = Path(__file__).resolve().parent.parent
RESULTS_DIR = REPO / "benchmarks" / "results"
PROMPT = "a lighthouse at dusk"

# Symbol patterns -> operation, first match wins (perf's demangled names of the llamafile build).
OPS = (
    ("matmul: tinyBLAS q8_0/q4_0 (llamafile)", re.compile(r"tinyBLAS_Q0|tinyBLAS_Q")),
    ("matmul: tinyBLAS f16 (llamafile)", re.compile(r"tinyBLAS<[^>]*unsigned short")),
    ("matmul: tinyBLAS f32 (llamafile)", re.compile(r"tinyBLAS|llamafile_sgemm")),
    ("matmul: repacked gemm/gemv (CPU_REPACK: q4_0 8x8, q8_0/q4_0 16x4 VNNI)", re.compile(r"gemm_q4_b32|gemm_q|gemv_q|gemm_16x4|gemv_16x4|repack")),
    ("matmul: ggml vec_dot q8_0/q4_0", re.compile(r"vec_dot_q[48]_0")),
    ("matmul: ggml vec_dot f16", re.compile(r"vec_dot_f16|vec_dot_bf16")),
    ("matmul: ggml vec_dot f32", re.compile(r"vec_dot_f32")),
    ("matmul: activation conversion (to f16/q8)", re.compile(r"quantize_row|fp32_to_fp16|cpu_fp32_to_fp16|from_float")),
    ("matmul: driver", re.compile(r"forward_mul_mat")),
    ("flash attention", re.compile(r"flash_attn")),
    ("im2col", re.compile(r"im2col")),
    ("direct conv", re.compile(r"conv_2d|conv2d")),
    ("softmax", re.compile(r"soft_max")),
    ("group/layer norm", re.compile(r"norm")),
    ("activations (silu/gelu)", re.compile(r"silu|gelu|geglu")),
    ("elementwise add/mul/scale", re.compile(r"forward_add|forward_mul\b|forward_mul_|forward_scale|binary|vec_add|vec_mul|vec_scale|op_add|op_mul")),
    ("copies (cpy/cont/concat/permute)", re.compile(r"cpy|cont|dup|concat|memmove|memcpy|get_rows|upscale|transpose")),
    ("threads waiting (OpenMP spin / barriers)", re.compile(r"libgomp|barrier|gomp|sched_yield|futex|spin|thread")),
    ("kernel (page faults, copies)", re.compile(r"kernel\.kallsyms")),
    ("python / libc", re.compile(r"libpython|libc\.so")),
)


def categorise(symbol: str) -> str:
    """The operation a sampled symbol belongs to."""
    for name, pattern in OPS:
        if pattern.search(symbol):
            return name
    return "other"


class _PhaseClock(logging.Handler):
    """Records CLOCK_MONOTONIC times of the engine's phase lines."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.marks: list[tuple[str, float]] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        for key in ("sampling using", "sampling completed", "decode_first_stage completed"):
            if key in message:
                self.marks.append((key, time.monotonic()))


def _ops_worker(args: argparse.Namespace) -> dict[str, Any]:
    import sdcpp

    clock = _PhaseClock()
    logger = logging.getLogger("sdcpp")
    logger.addHandler(clock)
    logger.setLevel(logging.INFO)
    with sdcpp.Context(str(args.model), threads=args.threads) as context:
        context.generate(PROMPT, steps=1, width=64, height=64, cfg_scale=7.0, sampling_method="euler")
        clock.marks.clear()
        started = time.monotonic()
        context.generate(PROMPT, steps=args.steps, width=args.size, height=args.size, cfg_scale=7.0,
                         sampling_method="euler", seed=42)
        finished = time.monotonic()
    marks = dict(clock.marks)
    return {"generate": [started, finished],
            "sampling": [marks["sampling using"], marks["sampling completed"]],
            "VAE decode": [marks["sampling completed"], marks["decode_first_stage completed"]]}


def _use_unstripped_symbols() -> None:
    """The installed module is stripped; its unstripped twin in build/ has the same build id. Put
    that one in perf's build-id cache so that local symbols (tinyBLAS kernels) resolve."""
    for unstripped in sorted(REPO.glob("build/*/_sdcpp*.so")):
        subprocess.run(["perf", "buildid-cache", "-r", str(unstripped)], capture_output=True, check=False)
        subprocess.run(["perf", "buildid-cache", "-a", str(unstripped)], capture_output=True, check=False)


def _perf_samples(data: Path) -> list[tuple[float, str]]:
    """(CLOCK_MONOTONIC seconds, "symbol (dso)") of every sample."""
    _use_unstripped_symbols()
    script = subprocess.run(["perf", "script", "-i", str(data), "-F", "time,ip,sym,dso"], check=True,
                            capture_output=True, text=True).stdout
    samples = []
    for line in script.splitlines():
        match = re.match(r"\s*([0-9.]+):\s+[0-9a-f]+\s+(.*)", line)
        if match:
            samples.append((float(match.group(1)), match.group(2).strip() or "[unknown]"))
    return samples


def run_ops(args: argparse.Namespace) -> dict[str, Any]:
    """perf record the worker; samples per phase, by operation and by top symbol."""
    with tempfile.TemporaryDirectory() as scratch:
        data = args.keep_data or Path(scratch) / "perf.data"
        bounds_file = Path(scratch) / "bounds.json"
        command = ["perf", "record", "-k", "mono", "-F", str(args.frequency), "-o", str(data), "--",
                   sys.executable, "-m", "benchmarks.engine_profile", "ops-worker", "--model", str(args.model),
                   "--size", str(args.size), "--threads", str(args.threads), "--steps", str(args.steps),
                   "--bounds", str(bounds_file)]
        subprocess.run(command, cwd=REPO, check=True, stdout=subprocess.DEVNULL)
        bounds = json.loads(bounds_file.read_text())
        samples = _perf_samples(data)
    phases: dict[str, Any] = {}
    for phase in ("sampling", "VAE decode"):
        low, high = bounds[phase]
        symbols = Counter(symbol for stamp, symbol in samples if low <= stamp <= high)
        total = sum(symbols.values())
        ops: Counter[str] = Counter()
        for symbol, count in symbols.items():
            ops[categorise(symbol)] += count
        phases[phase] = {"samples": total, "seconds": high - low, "bounds": [low, high],
                         "ops": {name: count / total for name, count in ops.most_common()} if total else {},
                         "top_symbols": [[symbol[:160], count / total] for symbol, count in symbols.most_common(25)]}
    return {"model": Path(args.model).name, "size": args.size, "steps": args.steps, "threads": args.threads,
            "frequency_hz": args.frequency, "phases": phases}


def run_switches(args: argparse.Namespace) -> dict[str, Any]:
    """A B B A timing of the U-Net's attention (the default, flash attention on CPU builds, against
    the plain one), and of VAE decode with tiling, direct convolutions and flash attention."""
    import sdcpp

    from .measure import measure

    options = dict(prompt=PROMPT, width=args.size, height=args.size, cfg_scale=7.0, sampling_method="euler",
                   seed=42)
    contexts = {"default": sdcpp.Context(str(args.model), threads=args.threads),
                "plain attention": sdcpp.Context(str(args.model), threads=args.threads, diffusion_flash_attn=False),
                "vae_conv_direct": sdcpp.Context(str(args.model), threads=args.threads, vae_conv_direct=True),
                "flash_attn": sdcpp.Context(str(args.model), threads=args.threads, flash_attn=True)}
    per_step: dict[str, list[float]] = {"default": [], "plain attention": []}
    decode: dict[str, list[float]] = {"default": [], "vae_tiling": [], "vae_conv_direct": [], "flash_attn": []}
    images: dict[str, Any] = {}

    def sampling_s(record: Any) -> float:
        # the engine's sampling timer where it logs one (no VAE or text-encoder spread in it)
        return record.sampling_s if math.isfinite(record.sampling_s) else record.wall_s

    try:
        for context in contexts.values():
            context.generate(steps=1, **{**options, "width": 64, "height": 64})
        for name in ("default", "plain attention", "plain attention", "default"):
            one = measure(contexts[name], name, steps=1, **options)
            three = measure(contexts[name], name, steps=3, **options)
            per_step[name].append((sampling_s(three) - sampling_s(one)) / 2)
            images[name] = three.image
            if name == "default":
                decode["default"] += [one.stages["decode_s"], three.stages["decode_s"]]
                tiled = measure(contexts[name], "vae_tiling", steps=1, vae_tiling=True, **options)
                decode["vae_tiling"].append(tiled.stages["decode_s"])
                images["vae_tiling"] = tiled.image
                images["default-1"] = one.image
                for lever in ("vae_conv_direct", "flash_attn"):
                    run = measure(contexts[lever], lever, steps=1, **options)
                    decode[lever].append(run.stages["decode_s"])
                    images[lever] = run.image
            print(f"{name}: {per_step[name][-1]:.2f} s/step", flush=True)
    finally:
        for context in contexts.values():
            context.close()
    from .quality import psnr

    base_step = statistics.median(per_step["default"])
    base_decode = statistics.median(decode["default"])
    return {"model": Path(args.model).name, "size": args.size, "threads": args.threads,
            "per_step_s": {name: statistics.median(values) for name, values in per_step.items()},
            "per_step_all_s": per_step,
            "per_step_speedup": {name: base_step / statistics.median(values) for name, values in per_step.items()},
            "per_step_psnr_db": {"plain attention": psnr(images["default"], images["plain attention"])},
            "decode_s": {name: statistics.median(values) for name, values in decode.items()},
            "decode_all_s": decode,
            "decode_speedup": {name: base_decode / statistics.median(values) for name, values in decode.items()},
            "decode_psnr_db": {lever: psnr(images["default-1"], images[lever])
                               for lever in ("vae_tiling", "vae_conv_direct", "flash_attn")},
            "load_average": list(os.getloadavg())}


def _psnr_cell(value: Any) -> str:
    """A PSNR for a table: None is "-", identical images ("inf" once stored as JSON) "identical"."""
    if value is None:
        return "-"
    value = float(value)
    return "identical" if value == float("inf") else f"{value:.1f} dB"


def markdown(document: dict[str, Any]) -> str:
    lines = [f"## Engine profile at {document.get('size')}x{document.get('size')}", "",
             f"Measured {document['created']} on {document['machine']['cpu']}; `{' '.join(document['argv'])}`.", ""]
    ops = document.get("ops")
    if ops:
        lines += [f"perf samples ({ops['frequency_hz']} Hz, {ops['threads']} threads) of {ops['model']}, "
                  f"cfg 7, {ops['steps']} steps:", "", "| operation | sampling (U-Net) | VAE decode |", "|---|---|---|"]
        names = list(dict.fromkeys([*ops["phases"]["sampling"]["ops"], *ops["phases"]["VAE decode"]["ops"]]))
        for name in names:
            cells = [f"{ops['phases'][phase]['ops'].get(name, 0.0):.1%}" for phase in ("sampling", "VAE decode")]
            lines.append(f"| {name} | {cells[0]} | {cells[1]} |")
        lines.append(f"| samples | {ops['phases']['sampling']['samples']} | {ops['phases']['VAE decode']['samples']} |")
    switches = document.get("switches")
    if switches:
        steps, dec = switches["per_step_s"], switches["decode_s"]
        lines += ["", f"Switches ({switches['model']}, A B B A in one process, load {switches['load_average']}):", "",
                  "| setting | per step | speed-up | PSNR vs default |", "|---|---|---|---|"]
        if "per_step_speedup" in switches:  # the default is flash attention (patches 0010-0012)
            for name in steps:
                label = "default (flash attention)" if name == "default" else name
                lines.append(f"| {label} | {steps[name]:.2f} s | {switches['per_step_speedup'][name]:.2f}x | "
                             f"{_psnr_cell(switches['per_step_psnr_db'].get(name))} |")
        else:  # documents from before: default attention against diffusion_flash_attn
            lines += [f"| default attention | {steps['default']:.2f} s | 1.00x | - |",
                      f"| diffusion_flash_attn | {steps['flash attention']:.2f} s | "
                      f"{switches['flash_attention_speedup']:.2f}x | {_psnr_cell(switches['flash_attention_psnr_db'])} |"]
        lines += ["", "| VAE decode | seconds | speed-up | PSNR vs default |", "|---|---|---|---|"]
        for name in dec:
            lines.append(f"| {name} | {dec[name]:.2f} s | {switches['decode_speedup'][name]:.2f}x | "
                         f"{_psnr_cell(switches['decode_psnr_db'].get(name))} |")
    return "\n".join(lines) + "\n"


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["ops", "switches", "ops-worker"])
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--frequency", type=int, default=250)
    parser.add_argument("--bounds", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--keep-data", type=Path, help="write perf's data file here (ops) and keep it")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    if args.mode == "ops-worker":
        args.bounds.write_text(json.dumps(_ops_worker(args)))
        return 0
    from .results import clean, machine

    out = args.out or RESULTS_DIR / f"engine-profile-{args.size}.json"
    document: dict[str, Any] = json.loads(out.read_text()) if out.exists() else {}
    document.update({"schema": "sdcpp-engine-profile/1", "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                     "argv": ["python", "-m", "benchmarks.engine_profile", *(argv or sys.argv[1:])],
                     "machine": machine(), "size": args.size})
    document[args.mode] = run_ops(args) if args.mode == "ops" else run_switches(args)
    out.write_text(json.dumps(clean(document), indent=1))
    print(markdown(document))
    return 0


if __name__ == "__main__":
    sys.exit(main())
