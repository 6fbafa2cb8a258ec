"""Performance evidence for sdcpp, one command (DESIGN.md section 5: ratios measured in one run).

    python -m benchmarks.run --quick                 # a few minutes: 128x128, a handful of rows
    python -m benchmarks.run --preset measured       # the subset docs/performance.md reports (~1 h, 2 cores)
    python -m benchmarks.run                         # the full grid (many hours on 2 cores)
    python -m benchmarks.run --only grid --sizes 256 --quants q8_0 --methods euler --cfgs 7 --no-sdxl
    python -m benchmarks.run --plan                  # print what would run, and exit

Sections (``--only``): ``grid`` (DeepCache N x d and upstream's ucache/spectrum against a no-cache
baseline in the same process), ``binding`` (Python API vs the engine's own sd-cli, ABAB, needs
``python -m benchmarks.build_engine_cli``), ``threads`` (1 vs 2 threads). Writes
benchmarks/results/NAME.json (rewritten after every run) and NAME.md (Markdown tables).
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path
from typing import Optional, Sequence

from sdcpp.testing import ensure_synthetic_model

from . import grid
from .binding import BindingCase, measure_binding
from .build_engine_cli import find_engine_cli
from .groups import DEFAULT_CACHE_DIR, run_groups
from .results import RESULTS_DIR, ResultsDocument
from .tables import document_markdown
from .threads import measure_threads

SECTIONS = ("grid", "binding", "threads")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="a few minutes at 128x128")
    mode.add_argument("--preset", choices=("full", "measured", "variations", "large", "evidence"), default="full",
                      help="full: the whole grid (selection flags apply); measured: a 256x256 subset "
                           "(about an hour on 2 quiet cores); variations: cfg 1, q4_0 and dpm++2m at 128x128; "
                           "large: one 512x512 baseline + N=3 d=0; evidence: 512x512 grid at cfg 1, SDXL 512 "
                           "N=3 d=0/1, 50 steps and dpm++2m at 256 (about 2 hours on 2 quiet cores)")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    parser.add_argument("--name", help="results file name (default: quick / measured / full, plus a time stamp)")
    parser.add_argument("--plan", action="store_true", help="print the planned groups and exit")
    parser.add_argument("--groups", nargs="+", metavar="TEXT",
                        help="run only the planned groups whose tag contains one of these texts (see --plan)")
    parser.add_argument("--settings", nargs="+", metavar="LABEL",
                        help='keep only these variants of each group, by label ("deepcache N=3 d=0", "ucache", ...)')
    selection = parser.add_argument_group("full-grid selection")
    selection.add_argument("--quants", nargs="+", default=["q8_0", "q4_0"])
    selection.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    selection.add_argument("--steps", type=int, nargs="+", default=[20, 50])
    selection.add_argument("--methods", nargs="+", default=["euler", "dpm++2m"])
    selection.add_argument("--cfgs", type=float, nargs="+", default=[7.0, 1.0])
    selection.add_argument("--intervals", type=int, nargs="+", default=[2, 3, 5])
    selection.add_argument("--depths", type=int, nargs="+", default=[0, 1, 2])
    selection.add_argument("--no-upstream", action="store_true", help="leave out ucache and spectrum")
    selection.add_argument("--no-sdxl", action="store_true", help="leave out the SDXL 512x512 groups")
    selection.add_argument("--repeats", type=int, default=1, help="runs of each variant per group")
    selection.add_argument("--baseline-every", type=int, default=4, help="a baseline after this many variant runs")
    parser.add_argument("--threads", type=int, default=2, help="engine threads for the grid")
    parser.add_argument("--binding-size", type=int, default=128)
    parser.add_argument("--binding-steps", type=int, default=4)
    parser.add_argument("--binding-pairs", type=int, default=3)
    parser.add_argument("--binding-threads", type=int, default=1,
                        help="1 by default: a single engine thread is least sensitive to other load")
    parser.add_argument("--threads-size", type=int, default=128)
    parser.add_argument("--threads-steps", type=int, default=4)
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE_DIR)
    return parser


def planned_groups(args: argparse.Namespace) -> list[grid.Group]:
    if args.quick:
        return grid.quick_grid(args.threads)
    if args.preset == "measured":
        return grid.measured_subset(args.threads)
    if args.preset == "variations":
        return grid.variations_subset(args.threads)
    if args.preset == "large":
        return grid.large_subset(args.threads)
    if args.preset == "evidence":
        return grid.evidence_subset(args.threads)
    return grid.full_grid(quants=args.quants, sizes=args.sizes, steps=args.steps, methods=args.methods,
                          cfgs=args.cfgs, intervals=args.intervals, depths=args.depths,
                          upstream=not args.no_upstream, sdxl=not args.no_sdxl, threads=args.threads,
                          repeats=args.repeats, baseline_every=args.baseline_every)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _parser().parse_args(argv)
    groups = planned_groups(args)
    if args.groups:
        groups = [group for group in groups if any(text in group.tag for text in args.groups)]
        if not groups:
            print(f"no planned group matches {args.groups}; see --plan", file=sys.stderr)
            return 2
    if args.settings:
        groups = [dataclasses.replace(group, variants=tuple(v for v in group.variants if v.label in args.settings))
                  for group in groups]
        groups = [group for group in groups if group.variants]
        if not groups:
            print(f"no planned group has any of the settings {args.settings}; see --plan", file=sys.stderr)
            return 2
    if args.plan:
        for group in groups:
            print(f"{group.tag}: {len(group.schedule())} runs: {' '.join(v.label for v in group.schedule())}")
        return 0
    name = args.name or f"{'quick' if args.quick else args.preset}-{time.strftime('%Y%m%d-%H%M%S')}"
    document = ResultsDocument(RESULTS_DIR / f"{name}.json", ["python", "-m", "benchmarks.run", *sys.argv[1:]]
                               if argv is None else ["python", "-m", "benchmarks.run", *argv])
    image_dir = RESULTS_DIR / "images" / name
    model = ensure_synthetic_model("sd15", "q8_0", cache_dir=args.cache_dir)
    small = 128 if args.quick else None
    if "binding" in args.only:
        executable = find_engine_cli()
        if executable is None:
            print("binding: no sd-cli; run `python -m benchmarks.build_engine_cli` first (skipped)", file=sys.stderr)
        else:
            case = BindingCase(model, size=small or args.binding_size, steps=args.binding_steps,
                                threads=args.binding_threads)
            document.add("binding", measure_binding(case, executable, pairs=1 if args.quick else args.binding_pairs))
    if "threads" in args.only:
        document.add("threads", measure_threads(model, size=small or args.threads_size,
                                                steps=2 if args.quick else args.threads_steps,
                                                rounds=1 if args.quick else 2))
    if "grid" in args.only:
        run_groups(groups, document, image_dir, args.cache_dir)
    markdown = document_markdown(document.data, name)
    document.path.with_suffix(".md").write_text(markdown)
    print(markdown)
    print(f"wrote {document.path} and {document.path.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
