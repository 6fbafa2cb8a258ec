"""Markdown tables from a results document (benchmarks/results/*.json)."""
from __future__ import annotations

from typing import Any, Iterable, Optional, Sequence


def _num(value: Any, fmt: str, suffix: str = "") -> str:
    if value is None:
        return "-"
    if value == "inf" or value == float("inf"):
        return "identical"
    return f"{value:{fmt}}{suffix}"


def _load(row: dict[str, Any]) -> str:
    low, high = row.get("load_min"), row.get("load_max")
    return "-" if low is None else f"{low:.1f}-{high:.1f}"


def _markdown(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A Markdown table: a header line, the separator, one line per row of cells."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cells) + " |" for cells in rows]
    return "\n".join(lines)


def _x(value: Any) -> str:
    return _num(value, ".2f", "x")


def cache_table(rows: Iterable[dict[str, Any]]) -> str:
    """One line per cache setting: speed-ups vs the bracketing baselines, theory, fidelity, memory."""
    headers = ("model", "size", "steps", "sampler", "cfg", "threads", "setting", "sampling x", "sampling CPU x",
               "end-to-end x", "end-to-end CPU x", "S(N,f)", "S(schedule)", "meas/S(N,f)", "PSNR dB", "SSIM",
               "peak RSS MiB (base)", "full/reused", "runs", "load")
    return _markdown(headers, (
        (f"{row['kind']} {row['quant']}", str(row["size"]), str(row["steps"]), row["method"], f"{row['cfg_scale']:g}",
         str(row["threads"]), row["setting"], _x(row["sampling_speedup"]), _x(row.get("sampling_cpu_speedup")),
         _x(row["total_speedup"]), _x(row.get("cpu_speedup")), _x(row.get("theoretical_speedup")),
         _x(row.get("theoretical_speedup_schedule")), _num(row.get("measured_over_theoretical"), ".0%"),
         _num(row["psnr_db"], ".1f"), _num(row["ssim"], ".4f"),
         f"{_num(row['peak_rss_mib'], '.0f')} ({_num(row['baseline_peak_rss_mib'], '.0f')})",
         f"{row['full_evaluations']}/{row['reused_evaluations']}", str(row["runs"]), _load(row))
        for row in rows))


def step_table(rows: Iterable[dict[str, Any]]) -> str:
    """Where a DeepCache run's sampling time goes: full vs shallow step times against the baseline."""
    headers = ("model", "size", "cfg", "setting", "baseline step s", "full step s", "shallow step s", "f (FLOPs)",
               "f (wall, in-run)", "f (CPU, in-run)", "full step vs baseline step", "S(N, f wall)", "sampling x")
    return _markdown(headers, (
        (f"{row['kind']} {row['quant']} {row['method']}", str(row["size"]), f"{row['cfg_scale']:g}", row["setting"],
         _num(row["baseline_step_s"], ".2f"), _num(row["full_step_s"], ".2f"), _num(row["shallow_step_s"], ".2f"),
         _num(row["shallow_fraction"], ".3f"), _num(row["f_effective"], ".3f"),
         _num(row.get("f_effective_cpu"), ".3f"), _num(row["full_step_overhead"], "+.1%"),
         _x(row["speedup_from_f_effective"]), _x(row["sampling_speedup"]))
        for row in rows if "f_effective" in row))


def upstream_table(rows: Iterable[dict[str, Any]]) -> str:
    """ucache/spectrum: how many steps they skipped, and the speed-up that allows."""
    headers = ("model", "size", "steps", "cfg", "setting", "computed/skipped steps", "speed-up from skipping",
               "sampling x", "PSNR dB", "SSIM")
    return _markdown(headers, (
        (f"{row['kind']} {row['quant']} {row['method']}", str(row["size"]), str(row["steps"]),
         f"{row['cfg_scale']:g}", row["setting"], f"{row['computed_steps']}/{row['skipped_steps']}",
         _x(row["structural_speedup"]), _x(row["sampling_speedup"]), _num(row["psnr_db"], ".1f"),
         _num(row["ssim"], ".4f"))
        for row in rows if "skipped_steps" in row))


def baseline_table(groups: Iterable[dict[str, Any]]) -> str:
    """Per group: the baseline's stage times (engine timers) and how much repeated baselines varied."""
    headers = ("group", "baseline runs", "sampling s", "text encoder s", "VAE decode s", "generate s", "wall s",
               "spread of sampling", "identical images")
    cells = []
    for entry in groups:
        runs = [run for run in entry["runs"] if run["setting"] == "baseline"]
        if not runs:
            continue
        first, row = runs[0], (entry["rows"][0] if entry["rows"] else {})
        cells.append((entry["group"]["tag"], str(len(runs)), _num(row.get("baseline_sampling_s"), ".1f"),
                      _num(first["stages"].get("conditioning_s"), ".2f"), _num(first["stages"].get("decode_s"), ".2f"),
                      _num(first["stages"].get("generate_s"), ".1f"), _num(first["wall_s"], ".1f"),
                      _num(row.get("baseline_spread"), ".1%"), str(row.get("baseline_images_identical", "-"))))
    return _markdown(headers, cells)


def binding_table(items: Iterable[dict[str, Any]]) -> str:
    """Python API against sd-cli, per case: time, CPU-time and peak-RSS ratios, identity of images."""
    headers = ("size", "steps", "cfg", "threads", "runs (py/cli)", "wall ratio", "CPU-time ratio",
               "generate_image ratio", "sampling ratio", "peak RSS ratio", "py peak MiB", "cli peak MiB",
               "same image", "load")
    cells = []
    for item in items:
        case, runs = item["case"], item["runs"]
        py = [run for run in runs if run["kind"] == "python"]
        cli = [run for run in runs if run["kind"] == "sd-cli"]
        loads = [run["load_before"][0] for run in runs if run["load_before"]]
        cells.append((str(case["size"]), str(case["steps"]), f"{case['cfg_scale']:g}", str(case["threads"]),
                      f"{len(py)}/{len(cli)}", _num(item["wall_ratio"], ".3f"), _num(item.get("cpu_ratio"), ".3f"),
                      _num(item["generate_ratio"], ".3f"), _num(item["sampling_ratio"], ".3f"),
                      _num(item["peak_rss_ratio"], ".3f"), _num(max(run["peak_rss_mib"] for run in py), ".0f"),
                      _num(max(run["peak_rss_mib"] for run in cli), ".0f"), str(item["images_identical"]),
                      f"{min(loads):.1f}-{max(loads):.1f}"))
    return _markdown(headers, cells)


def threads_table(items: Iterable[dict[str, Any]]) -> str:
    """Sampling time per thread count and the speed-up over 1 thread."""
    headers = ("size", "steps", "cfg", "threads", "sampling s", "wall s", "sampling speed-up", "efficiency", "load")
    cells = []
    for item in items:
        for summary in item["summary"]:
            loads = [run["load_before"][0] for run in item["runs"] if run["threads"] == summary["threads"]]
            cells.append((str(item["size"]), str(item["steps"]), f"{item['cfg_scale']:g}", str(summary["threads"]),
                          f"{summary['sampling_s']:.2f}", f"{summary['wall_s']:.2f}",
                          f"{summary['sampling_speedup']:.2f}x", f"{summary['efficiency']:.0%}",
                          f"{min(loads):.1f}-{max(loads):.1f}"))
    return _markdown(headers, cells)


def attention_table(items: Iterable[dict[str, Any]]) -> str:
    """benchmarks.attention: full and shallow step times with plain and with flash attention."""
    headers = ("size", "depth", "attention", "full step s", "shallow step s", "f (in-run)", "f (FLOPs)",
               "full step x", "shallow step x", "VAE decode s", "peak RSS MiB", "PSNR flash vs plain")
    cells = []
    for item in items:
        default = item["summary"][0]
        for row in item["summary"]:
            cells.append((str(item["size"]), str(item["depth"]), "flash" if row["flash_attn"] else "plain",
                          f"{row['full_step_s']:.2f}", f"{row['shallow_step_s']:.2f}", f"{row['f_effective']:.3f}",
                          f"{item['f_flops']:.3f}", _x(default["full_step_s"] / row["full_step_s"]),
                          _x(default["shallow_step_s"] / row["shallow_step_s"]), _num(row["decode_s"], ".1f"),
                          _num(row["peak_rss_mib"], ".0f"), _num(item["psnr_flash_vs_default_db"], ".1f", " dB")))
    return _markdown(headers, cells)


def perf_table(documents: Iterable[dict[str, Any]]) -> str:
    """perf-*.json (benchmarks/probe): CPU samples per U-Net call, f from samples vs from FLOPs."""
    from .flops import theoretical_speedup

    lines = ["| size | depth | samples per full call | samples per shallow call | f (CPU samples) | f (FLOPs) "
             "| S(5, f CPU) | S(5, f FLOPs) | f32 matrix products (mostly attention) in sampling: no cache / cached run |",
             "|---|---|---|---|---|---|---|---|---|"]
    for document in documents:
        size = 256 if "256x256" in document["what"] else 128
        shallow, f_cpu, f_flops = document["samples_per_shallow_call"], document["f_cpu_samples"], document["f_flops"]
        base = document.get("baseline", {})
        for depth in sorted(shallow):
            run: dict[str, Any] = next((value for key, value in document.items()
                                        if key.startswith("deepcache") and f"_{depth}_" in key), {})
            lines.append(
                f"| {size} | {depth[1:]} | {document['samples_per_full_call']:.0f} | {shallow[depth]:.0f} "
                f"| {f_cpu[depth]:.3f} | {f_flops[depth]:.3f} | {theoretical_speedup(5, f_cpu[depth]):.2f}x "
                f"| {theoretical_speedup(5, f_flops[depth]):.2f}x "
                f"| {base.get('sampling', {}).get('matmul f32', 0):.1%} / {run.get('sampling', {}).get('matmul f32', 0):.1%} |")
    return "\n".join(lines)


def document_markdown(document: dict[str, Any], title: Optional[str] = None) -> str:
    """Every table of one results document."""
    rows = [row for entry in document.get("groups", []) for row in entry["rows"]]
    machine = document.get("machine", {})
    parts = [f"## {title or 'Benchmark results'}",
             f"Measured {document.get('created', '?')} on {machine.get('cpu', '?')}, "
             f"{machine.get('logical_cpus', '?')} logical CPUs, no GPU; `{' '.join(document.get('argv', []))}`."]
    if rows:
        sections = (("Caches vs no cache", cache_table(rows)),
                    ("Where the time of a DeepCache run goes", step_table(rows)),
                    ("Upstream caches: skipped steps", upstream_table(rows)),
                    ("Baselines", baseline_table(document["groups"])))
        for heading, table in sections:
            if table.count("\n") >= 2:  # a header, the separator and at least one row
                parts += [f"### {heading}", table]
    if document.get("binding"):
        parts += ["### Binding overhead (Python API / sd-cli)", binding_table(document["binding"])]
    if document.get("threads"):
        parts += ["### Threads", threads_table(document["threads"])]
    if document.get("attention"):
        parts += ["### Flash attention and DeepCache", attention_table(document["attention"])]
    return "\n\n".join(parts) + "\n"
