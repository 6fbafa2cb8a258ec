"""Run the groups of the DeepCache / upstream-cache grid and record every run."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from PIL import Image

import sdcpp
from sdcpp.testing import ensure_synthetic_model

from .analysis import summarise
from .grid import Group, Variant
from .measure import Run, measure
from .results import ResultsDocument

log = logging.getLogger("benchmarks")
DEFAULT_CACHE_DIR = Path(__file__).resolve().parent.parent / ".cache"


def _save_image(directory: Optional[Path], group: Group, variant: Variant, run: Run) -> Optional[str]:
    """Keep the first image of each setting (for the side-by-side figure)."""
    if directory is None:
        return None
    path = directory / group.tag / (variant.label.replace(" ", "_").replace("=", "") + ".png")
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(run.image).save(path)
    return str(path)


def run_group(context: sdcpp.Context, group: Group, document: ResultsDocument,
              image_dir: Optional[Path], echo: Callable[[str], None] = print) -> list[dict[str, Any]]:
    """Warm up, then run the group's schedule; the document is updated after every run."""
    options = group.generate_options()
    context.generate(**{**options, "steps": 1})  # warm-up: allocators, page-in, caches
    entry: dict[str, Any] = {"group": group.describe(), "runs": [], "rows": []}
    document.add("groups", entry)
    order: list[tuple[Variant, Run]] = []
    schedule = group.schedule()
    for position, variant in enumerate(schedule, 1):
        run = measure(context, variant.label, **options, **variant.options())
        order.append((variant, run))
        record = run.record()
        record["image_path"] = _save_image(image_dir, group, variant, run)
        entry["runs"].append(record)
        echo(f"[{group.tag}] {position}/{len(schedule)} {variant.label:<20} sampling {run.sampling_s:7.2f}s "
             f"wall {run.wall_s:7.2f}s peak {run.peak_rss_mib or 0:7.0f} MiB load {run.load_before[:1]}")
        entry["rows"] = summarise(group, order)
        document.replace_last("groups", entry)
    rows: list[dict[str, Any]] = entry["rows"]
    return rows


def run_groups(groups: Sequence[Group], document: ResultsDocument, image_dir: Optional[Path],
               cache_dir: Path = DEFAULT_CACHE_DIR, echo: Callable[[str], None] = print) -> None:
    """Run every group, loading each model (kind, quant, threads) once for consecutive groups."""
    context: Optional[sdcpp.Context] = None
    loaded: Optional[tuple[str, str, int]] = None
    try:
        for group in groups:
            key = (group.kind, group.quant, group.threads)
            if key != loaded:
                if context is not None:
                    context.close()
                model = ensure_synthetic_model(group.kind, group.quant, cache_dir=cache_dir)
                context = sdcpp.Context(model, threads=group.threads)
                loaded = key
            assert context is not None
            run_group(context, group, document, image_dir, echo)
    finally:
        if context is not None:
            context.close()
