"""Per sampler step of several model files (or Context options) in one process, taking turns.

    python -m benchmarks.weight_types --size 256 --rounds 3                  # f16, q8_0, q4_0
    python -m benchmarks.weight_types --variant q4_0-plain=q4_0:'{"weight_repack": false}'

Every variant keeps its Context loaded; each round runs every variant once (the order reversed on
odd rounds, A B C C B A ...), so a drift of the machine's speed hits them alike. Per step is
(sampling(long) - sampling(short)) / (long - short) from the engine's sampling stage timer, so the
VAE decode (whose time varies by seconds between runs on a VM) stays out. Medians over the rounds.
Answers issue 11's "q8_0 per step <= f16 per step" and "q4_0 <= q8_0" on one machine in one run.

Writes benchmarks/results/weight-types-<size>.json and .md.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Optional, Sequence

REPO = Path(__file__).resolve().parent.parent
RESULTS_DIR = REPO / "benchmarks" / "results"
PROMPT = "a lighthouse at dusk"
DEFAULT_VARIANTS = ("f16=f16", "q8_0=q8_0", "q4_0=q4_0")


def parse_variant(text: str) -> tuple[str, str, dict[str, Any]]:
    """``NAME=TYPE[:JSON]`` -> (name, weight type of the synthetic SD1.5 file, Context keywords)."""
    name, _, rest = text.partition("=")
    weight_type, _, options = rest.partition(":")
    if not name or weight_type not in ("f16", "q8_0", "q4_0"):
        raise ValueError(f"variant {text!r}: expected NAME=f16|q8_0|q4_0[:JSON]")
    return name, weight_type, json.loads(options) if options else {}


def model_file(weight_type: str, cache_dir: Path) -> Path:
    from sdcpp.testing import ensure_synthetic_checkpoint, ensure_synthetic_model

    if weight_type == "f16":
        return ensure_synthetic_checkpoint("sd15", "f16", cache_dir=cache_dir)
    return ensure_synthetic_model("sd15", weight_type, cache_dir=cache_dir)


def summarise(runs: dict[str, list[float]]) -> dict[str, dict[str, Any]]:
    """Median per step of each variant and its ratio to the first variant."""
    medians = {name: statistics.median(values) for name, values in runs.items()}
    first = next(iter(medians.values()))
    return {name: {"per_step_s": value, "runs_s": runs[name], "vs_first": value / first}
            for name, value in medians.items()}


def markdown(document: dict[str, Any]) -> str:
    rows = document["rows"]
    first = next(iter(rows))
    lines = [f"## Weight types at {document['size']}x{document['size']}", "",
             f"Measured {document['created']} on {document['machine']['cpu']}, {document['threads']} threads, cfg 7, "
             f"Euler, per step = (sampling({document['long']}) - sampling({document['short']})) / "
             f"{document['long'] - document['short']} from the engine's stage timer, median of {document['rounds']} "
             f"interleaved rounds; load average {document['load_average']}; `{' '.join(document['argv'])}`.", "",
             f"| variant | file | per step | x {first} | rounds |", "|---|---|---|---|---|"]
    for name, row in rows.items():
        lines.append(f"| {name} | {row['file']} | {row['per_step_s']:.2f} s | {row['vs_first']:.2f}x | "
                     + ", ".join(f"{value:.2f}" for value in row["runs_s"]) + " |")
    return "\n".join(lines) + "\n"


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--short", type=int, default=1)
    parser.add_argument("--long", type=int, default=4)
    parser.add_argument("--variant", action="append", metavar="NAME=TYPE[:JSON]",
                        help="default: f16, q8_0, q4_0 with the default Context")
    parser.add_argument("--cache-dir", type=Path, default=REPO / ".cache")
    parser.add_argument("--out-dir", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)

    import sdcpp

    from .measure import measure
    from .results import clean, machine

    variants = [parse_variant(text) for text in (args.variant or DEFAULT_VARIANTS)]
    files = {name: model_file(weight_type, args.cache_dir) for name, weight_type, _ in variants}
    contexts = {name: sdcpp.Context(files[name], threads=args.threads, **options) for name, _, options in variants}
    options = dict(prompt=PROMPT, width=args.size, height=args.size, cfg_scale=7.0, sampling_method="euler", seed=1)
    try:
        for context in contexts.values():  # warm-up: graphs, threads, pages
            context.generate(steps=1, **{**options, "width": 64, "height": 64})
        runs: dict[str, list[float]] = {name: [] for name in contexts}
        names = list(contexts)
        for round_index in range(args.rounds):
            for name in names if round_index % 2 == 0 else names[::-1]:
                short = measure(contexts[name], name, steps=args.short, **options)
                long = measure(contexts[name], name, steps=args.long, **options)
                if short.sampling_s is None or long.sampling_s is None:
                    raise RuntimeError("the engine logged no sampling time")
                runs[name].append((long.sampling_s - short.sampling_s) / (args.long - args.short))
                print(f"round {round_index + 1} {name}: {runs[name][-1]:.3f} s/step", flush=True)
    finally:
        for context in contexts.values():
            context.close()
    rows = summarise(runs)
    for name in rows:
        rows[name]["file"] = files[name].name
    document = {"schema": "sdcpp-weight-types/1", "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "argv": ["python", "-m", "benchmarks.weight_types", *(argv if argv is not None else sys.argv[1:])],
                "machine": machine(), "size": args.size, "threads": args.threads, "short": args.short,
                "long": args.long, "rounds": args.rounds,
                "load_average": [round(value, 2) for value in os.getloadavg()], "rows": rows}
    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / f"weight-types-{args.size}.json").write_text(json.dumps(clean(document), indent=1))
    (args.out_dir / f"weight-types-{args.size}.md").write_text(markdown(document))
    print(markdown(document))
    return 0


if __name__ == "__main__":
    sys.exit(main())
