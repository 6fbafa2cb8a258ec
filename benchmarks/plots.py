"""Figures for docs/performance.md, drawn from the results JSON only.

    python -m benchmarks.plots benchmarks/results/measured.json [--reference benchmarks/results/deepcache-256.json]

Writes docs/img/speedup-vs-interval.png, docs/img/psnr-vs-speedup.png and docs/img/image-grid.png
(``--suffix -512`` inserts "-512" before ".png"; each kept well under 200 KB: small figures, 8-bit
palette PNGs).
"""
from __future__ import annotations

import argparse
import io
import json
import sys
from pathlib import Path
from typing import Any, Optional, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from .flops import shallow_fraction, theoretical_speedup  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
IMG_DIR = REPO / "docs" / "img"
DEPTH_COLOURS = {0: "tab:blue", 1: "tab:orange", 2: "tab:green"}


def _save(figure: Any, path: Path) -> None:
    """Save as a palette PNG (plots have few colours), which keeps the files small."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    plt.close(figure)
    buffer.seek(0)
    image = Image.open(buffer).convert("RGB").quantize(colors=128, method=Image.Quantize.MEDIANCUT)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, optimize=True)
    print(f"wrote {path} ({path.stat().st_size // 1024} KB)")


def _rows(document: Any) -> list[dict[str, Any]]:
    """Summary rows of a results document (or of the older list-of-rows format)."""
    if isinstance(document, list):
        rows = []
        for row in document:
            setting = row["setting"]
            family = "deepcache" if setting.startswith("deepcache") else setting
            parts = dict(part.split("=") for part in setting.split()[1:]) if family == "deepcache" else {}
            rows.append({**row, "kind": "sd15", "family": family, "interval": int(parts["N"]) if parts else None,
                         "depth": int(parts["d"]) if parts else None})
        return rows
    return [row for entry in document.get("groups", []) for row in entry["rows"]]


def _main_group(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows of the group with the most DeepCache settings."""
    tags: dict[str, int] = {}
    for row in rows:
        if row["family"] == "deepcache":
            tags[row.get("tag", "")] = tags.get(row.get("tag", ""), 0) + 1
    best = max(tags, key=lambda tag: tags[tag])
    return [row for row in rows if row.get("tag", "") == best]


def speedup_vs_interval(rows: list[dict[str, Any]], reference: Optional[list[dict[str, Any]]], path: Path) -> None:
    main = _main_group(rows)
    first = main[0]
    figure, axis = plt.subplots(figsize=(5.6, 3.8))
    intervals = np.linspace(1, 6, 101)
    latent = first["size"] // 8
    for depth, colour in DEPTH_COLOURS.items():
        fraction = shallow_fraction(first["kind"], depth, latent, latent)
        axis.plot(intervals, [theoretical_speedup(n, fraction) for n in intervals], "--", color=colour, lw=1,
                  label=f"S(N,f) d={depth} (f={fraction:.3f})")
        mine = sorted((row for row in main if row["family"] == "deepcache" and row["depth"] == depth),
                      key=lambda row: row["interval"])
        if mine:
            axis.plot([r["interval"] for r in mine], [r["sampling_speedup"] for r in mine], "o-", color=colour,
                      label=f"measured d={depth} (sampling wall time)")
            cpu = [(r["interval"], r["cpu_speedup"]) for r in mine if r.get("cpu_speedup") is not None]
            if cpu:
                axis.plot(*zip(*cpu), "x", color=colour, ms=8, label="end-to-end CPU time" if depth == 0 else None)
            schedule = [(r["interval"], r["theoretical_speedup_schedule"]) for r in mine
                        if r.get("theoretical_speedup_schedule") is not None]
            if schedule:
                axis.plot(*zip(*schedule), "_", color=colour, ms=14, mew=2,
                          label=f"theory for the {first['steps']}-step schedule" if depth == 0 else None)
        if reference:
            old = sorted((row["interval"], row["sampling_speedup"]) for row in reference
                         if row["family"] == "deepcache" and row["depth"] == depth and row["size"] == first["size"])
            if old:
                axis.plot(*zip(*old), "s", mfc="none", color=colour, ms=6,
                          label="earlier quiet-machine run" if depth == 0 else None)
    axis.set_xlabel("interval N")
    axis.set_ylabel("sampling speed-up vs no cache")
    axis.set_title(f"DeepCache, synthetic {first['kind']} {first['quant']}, {first['size']}px, "
                   f"{first['steps']} steps {first['method']}, cfg {first['cfg_scale']:g}", fontsize=9)
    axis.grid(alpha=0.3)
    axis.legend(fontsize=7, ncol=2)
    figure.tight_layout()
    _save(figure, path)


def psnr_vs_speedup(rows: list[dict[str, Any]], path: Path, main_tag: Optional[str] = None) -> None:
    """PSNR against sampling speed-up for every row; rows of the group ``main_tag`` are filled and
    labelled with their interval, the other groups' rows are hollow."""
    figure, axis = plt.subplots(figsize=(5.6, 3.8))
    styles = {"ucache": ("tab:red", "^"), "spectrum": ("tab:purple", "v")}
    labelled: set[str] = set()
    for row in rows:
        if row["psnr_db"] in (None, "inf"):
            continue
        if row["family"] == "deepcache":
            colour, marker, label = DEPTH_COLOURS.get(row["depth"], "grey"), "o", f"DeepCache d={row['depth']}"
        else:
            colour, marker = styles.get(row["family"], ("black", "x"))
            label = row["family"]
        hollow = row.get("tag", "") != main_tag
        axis.scatter(row["sampling_speedup"], row["psnr_db"], color=colour, marker=marker,
                     facecolors="none" if hollow else colour, label=None if label in labelled else label)
        labelled.add(label)
        if row["family"] == "deepcache" and not hollow:
            axis.annotate(f"N={row['interval']}", (row["sampling_speedup"], row["psnr_db"]), fontsize=6,
                          xytext=(3, 2), textcoords="offset points")
    axis.set_xlabel("sampling speed-up vs no cache")
    axis.set_ylabel("PSNR vs no-cache image (dB)")
    axis.set_title(f"Fidelity vs speed (filled: {main_tag or '-'}; hollow: other groups)", fontsize=8)
    axis.grid(alpha=0.3)
    axis.legend(fontsize=7)
    figure.tight_layout()
    _save(figure, path)


def image_grid(documents: Sequence[dict[str, Any]], path: Path, crop: int = 96,
               settings: Sequence[str] = ("deepcache N=2 d=0", "deepcache N=3 d=0", "deepcache N=3 d=1",
                                          "deepcache N=3 d=2", "deepcache N=5 d=0", "deepcache N=5 d=1",
                                          "deepcache N=5 d=2", "ucache", "spectrum"),
               columns: int = 9) -> None:
    """Baseline and cached images (centre crops, not resampled) and |difference| x 8 below each, at
    most ``columns`` columns (the baseline and the first settings of ``settings`` that were run).

    The group with most saved images in the first document is shown; settings it lacks are taken
    from groups with the same settings (same tag) in the other documents."""
    entry = max(documents[0]["groups"], key=lambda e: sum(1 for run in e["runs"] if run.get("image_path")))
    paths: dict[str, str] = {}
    for document in documents:
        for other in document.get("groups", []):
            if other["group"]["tag"] == entry["group"]["tag"]:
                for run in other["runs"]:
                    if run.get("image_path"):
                        paths.setdefault(run["setting"], run["image_path"])
    labels = (["baseline"] + [setting for setting in settings if setting in paths])[:columns]
    images = {label: np.asarray(Image.open(paths[label]).convert("RGB")) for label in labels if Path(paths[label]).exists()}
    if "baseline" not in images:
        print("no saved baseline image: image grid skipped")
        return
    labels = [label for label in labels if label in images]
    height, width = images["baseline"].shape[:2]
    top, left = (height - crop) // 2, (width - crop) // 2
    figure, axes = plt.subplots(2, len(labels), figsize=(1.35 * len(labels), 3.0))
    axes = np.atleast_2d(axes).reshape(2, len(labels))
    base = images["baseline"][top:top + crop, left:left + crop].astype(np.int16)
    for column, label in enumerate(labels):
        tile = images[label][top:top + crop, left:left + crop]
        difference = np.clip(np.abs(tile.astype(np.int16) - base) * 8, 0, 255).astype(np.uint8)
        axes[0, column].imshow(tile, interpolation="nearest")
        axes[1, column].imshow(difference, interpolation="nearest")
        axes[0, column].set_title(label.replace("deepcache ", "DC "), fontsize=7)
        for row in range(2):
            axes[row, column].set_xticks([])
            axes[row, column].set_yticks([])
    axes[1, 0].set_ylabel("|diff| x8", fontsize=7)
    figure.suptitle(f"{entry['group']['tag']} ({crop}x{crop} centre crop; random-weight model)", fontsize=7)
    figure.tight_layout()
    _save(figure, path)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", type=Path, nargs="+", help="results JSON; the first one drives the figures")
    parser.add_argument("--reference", type=Path, help="an earlier list-of-rows JSON to overlay")
    parser.add_argument("--out", type=Path, default=IMG_DIR)
    parser.add_argument("--suffix", default="", help="appended to each figure's file name, e.g. -512")
    args = parser.parse_args(argv)
    documents = [json.loads(path.read_text()) for path in args.results]
    rows = [row for document in documents for row in _rows(document)]
    reference = _rows(json.loads(args.reference.read_text())) if args.reference else None
    speedup_vs_interval(_rows(documents[0]), reference, args.out / f"speedup-vs-interval{args.suffix}.png")
    main = _main_group(_rows(documents[0]))
    psnr_vs_speedup(rows, args.out / f"psnr-vs-speedup{args.suffix}.png", main[0].get("tag") if main else None)
    image_grid(documents, args.out / f"image-grid{args.suffix}.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
