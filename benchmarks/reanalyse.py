"""Recompute the summary rows of a results document from its raw runs and saved images (after a
change to benchmarks/analysis.py, or for a run that was stopped before its end).

    python -m benchmarks.reanalyse benchmarks/results/measured-grid.json [--write]

Generation is deterministic (same seed, same settings: the same image, which the runner checks for
the baselines), so the one saved image of each setting stands for all of its runs.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import fields
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np
from PIL import Image

from .analysis import summarise
from .grid import BASELINE, Group, Variant
from .measure import Run
from .results import clean
from .tables import document_markdown


def variant_from_label(label: str) -> Variant:
    if label.startswith("deepcache"):
        parts = dict(part.split("=") for part in label.split()[1:])
        return Variant("deepcache", int(parts["N"]), int(parts["d"]))
    return BASELINE if label == "baseline" else Variant(label)


def group_from_description(description: dict[str, Any]) -> Group:
    names = {field.name for field in fields(Group)}
    values = {key: value for key, value in description.items() if key in names and key != "variants"}
    return Group(variants=tuple(variant_from_label(label) for label in description["variants"]), **values)


def run_from_record(record: dict[str, Any], images: dict[str, np.ndarray]) -> Run:
    names = {field.name for field in fields(Run)} - {"image"}
    values: dict[str, Any] = {key: record.get(key) for key in names}
    values["sampling_cpu_s"] = record.get("sampling_cpu_s")
    values["step_cpu_s"] = record.get("step_cpu_s") or []
    values["cpu_s"] = record.get("cpu_s", float("nan"))
    return Run(**values, image=images[record["setting"]])


def reanalyse(document: dict[str, Any]) -> dict[str, Any]:
    for entry in document["groups"]:
        images: dict[str, np.ndarray] = {}
        for record in entry["runs"]:
            path = record.get("image_path")
            if path and record["setting"] not in images and Path(path).exists():
                images[record["setting"]] = np.asarray(Image.open(path).convert("RGB"))
        group = group_from_description(entry["group"])
        order = [(variant_from_label(record["setting"]), run_from_record(record, images))
                 for record in entry["runs"] if record["setting"] in images]
        if order:
            entry["rows"] = clean(summarise(group, order))
    return document


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", type=Path)
    parser.add_argument("--write", action="store_true", help="replace the rows in the file (and its .md)")
    args = parser.parse_args(argv)
    document = reanalyse(json.loads(args.results.read_text()))
    markdown = document_markdown(document, args.results.stem)
    if args.write:
        args.results.write_text(json.dumps(document, indent=1))
        args.results.with_suffix(".md").write_text(markdown)
    print(markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
