"""The benchmark tooling (benchmarks/): plans, theory, fidelity metrics and the committed results.

Speed itself is never asserted here (that is what benchmarks/ prints); these tests check that the
scripts plan what they say, that the formulas are right, and that every results file in the
repository still renders, so docs/performance.md can be regenerated from it.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
RESULTS = sorted((REPO / "benchmarks" / "results").glob("*.json"))

pytest.importorskip("benchmarks.grid", reason="run from the repository root")

from benchmarks import grid  # noqa: E402
from benchmarks.flops import shallow_fraction, theoretical_speedup  # noqa: E402
from benchmarks.quality import psnr, ssim  # noqa: E402


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "benchmarks.run", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize("preset", ["--quick", "--preset=measured", "--preset=variations", "--preset=large",
                                    "--preset=evidence", "--preset=full"])
def test_every_preset_plans_baselines_around_its_variants(preset: str) -> None:
    planned = _run(preset, "--plan")
    assert planned.returncode == 0, planned.stderr
    lines = planned.stdout.splitlines()
    assert lines
    for line in lines:
        runs = line.split(": ", 2)[2]
        assert runs.startswith("baseline "), line  # every group starts with its own baseline


def test_full_grid_is_the_cross_product_the_issue_lists() -> None:
    groups = grid.full_grid()
    sd15 = [group for group in groups if group.kind == "sd15"]
    assert len(sd15) == 2 * 2 * 2 * 2 * 2  # quant x size x steps x sampler x cfg
    assert {(v.interval, v.depth) for v in sd15[0].variants if v.family == "deepcache"} == {
        (n, d) for n in (2, 3, 5) for d in (0, 1, 2)}
    assert {v.family for v in sd15[0].variants} == {"deepcache", "ucache", "spectrum"}
    sdxl = [group for group in groups if group.kind == "sdxl"]
    assert sdxl and all(group.size == 512 for group in sdxl)
    assert {(v.interval, v.depth) for group in sdxl for v in group.variants if v.family == "deepcache"} == {
        (3, 0), (3, 1)}


def test_group_filter_selects_by_tag_and_refuses_an_empty_selection() -> None:
    planned = _run("--preset=evidence", "--plan", "--groups", "sdxl")
    assert planned.returncode == 0, planned.stderr
    assert [line.split(":")[0] for line in planned.stdout.splitlines()] == ["sdxl-q8_0-512-10-euler-cfg1-t2"]
    refused = _run("--preset=evidence", "--plan", "--groups", "no-such-group")
    assert refused.returncode == 2 and "no planned group matches" in refused.stderr


def test_settings_filter_keeps_the_named_variants_and_the_baselines() -> None:
    planned = _run("--preset=evidence", "--plan", "--groups", "sd15-q8_0-512", "--settings", "ucache",
                   "deepcache N=5 d=2")
    assert planned.returncode == 0, planned.stderr
    assert planned.stdout.split(": ", 2)[2].split() == [
        "baseline", "deepcache", "N=5", "d=2", "ucache", "baseline"]
    refused = _run("--preset=evidence", "--plan", "--settings", "deepcache N=9 d=9")
    assert refused.returncode == 2 and "no planned group has any of the settings" in refused.stderr


def test_theoretical_speedup_formula_and_shallow_fractions() -> None:
    assert theoretical_speedup(1, 0.3) == pytest.approx(1.0)
    assert theoretical_speedup(3, 0.0) == pytest.approx(3.0)
    assert theoretical_speedup(5, 0.25) == pytest.approx(5 / 2)
    for kind, latent in (("sd15", 32), ("sd15", 64), ("sdxl", 64)):
        fractions = [shallow_fraction(kind, depth, latent, latent) for depth in range(3)]
        assert 0 < fractions[0] < fractions[1] < fractions[2] < 1, (kind, fractions)


def test_psnr_and_ssim_behave_as_defined() -> None:
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (48, 48, 3), dtype=np.uint8)
    assert psnr(image, image) == float("inf")
    assert ssim(image, image) == pytest.approx(1.0)
    shifted = np.clip(image.astype(np.int16) + 5, 0, 255).astype(np.uint8)
    mse = np.mean((image.astype(np.float64) - shifted) ** 2)
    assert psnr(image, shifted) == pytest.approx(10 * np.log10(255**2 / mse))
    noisy = np.clip(image + rng.normal(0, 40, image.shape), 0, 255).astype(np.uint8)
    assert ssim(image, noisy) < ssim(image, shifted) < 1.0
    with pytest.raises(ValueError, match="shapes differ"):
        ssim(image, image[:8])


@pytest.mark.parametrize("path", RESULTS, ids=[path.name for path in RESULTS])
def test_committed_results_render_as_markdown(path: Path) -> None:
    """docs/performance.md's tables come from these files through benchmarks.report."""
    json.loads(path.read_text())
    rendered = subprocess.run([sys.executable, "-m", "benchmarks.report", str(path)], cwd=REPO,
                              capture_output=True, text=True, timeout=120)
    assert rendered.returncode == 0, rendered.stderr
    assert "|---|" in rendered.stdout


def test_peers_plan_covers_every_type_with_and_without_deepcache() -> None:
    from benchmarks.peers import engines

    names = [item["name"] for item in engines()]
    assert names[:2] == ["OpenVINO f32", "PyTorch fp32"]
    for weight_type in ("f16", "q8_0", "q4_0"):
        assert f"sdcpp {weight_type}" in names
        assert f"sdcpp {weight_type} + DeepCache N=2 d=0" in names
    assert "sdcpp q4_0, plain layout" in names  # what weight repacking (patch 0006) buys
    plain = next(item for item in engines() if item["name"] == "sdcpp q4_0, plain layout")
    assert plain["context"] == {"weight_repack": False}
    assert len(names) == 9


def test_peers_per_step_comes_from_the_sampling_timer_when_every_run_has_it() -> None:
    from benchmarks.peers import summarise

    # wall times carry a VAE decode that varies between the runs; the sampling stage does not
    pairs = [({"wall_s": 20.0, "sampling_s": 6.0}, {"wall_s": 31.0, "sampling_s": 18.0})]
    assert summarise({"pairs": pairs}, 2, 6)["per_step_s"] == pytest.approx(3.0)
    assert summarise({"pairs": pairs}, 2, 6)["per_step_from"] == "sampling_s"
    pairs[0][0].pop("sampling_s")
    assert summarise({"pairs": pairs}, 2, 6)["per_step_s"] == pytest.approx(11.0 / 4)


def test_peers_per_step_cancels_the_fixed_costs_and_ratios_use_the_references() -> None:
    from benchmarks.peers import markdown, summarise, with_ratios

    def run(steps: int, per_step: float, fixed: float) -> dict[str, float]:
        return {"wall_s": fixed + steps * per_step, "decode_s": fixed / 2, "conditioning_s": fixed / 4}

    def row(name: str, kind: str, per_step: float, fixed: float) -> dict[str, object]:
        result = {"pairs": [(run(2, per_step, fixed), run(6, per_step, fixed))] * 2, "peak_rss_mib": 100.0}
        return {"name": name, "kind": kind, "file_mib": 10.0, **result, **summarise(result, 2, 6)}

    rows = with_ratios([row("OpenVINO f32", "openvino", 2.0, 8.0), row("PyTorch fp32", "torch", 4.0, 8.0),
                        row("sdcpp q8_0", "sdcpp", 3.0, 16.0)])
    sdcpp_row = rows[2]
    assert sdcpp_row["per_step_s"] == pytest.approx(3.0)
    assert sdcpp_row["per_step_vs_openvino"] == pytest.approx(1.5)
    assert sdcpp_row["per_step_vs_torch"] == pytest.approx(0.75)
    assert sdcpp_row["decode_vs_torch"] == pytest.approx(2.0)
    assert sdcpp_row["end_to_end_20_s"] == pytest.approx(12.0 + 60.0)
    document = {"size": 256, "created": "now", "machine": {"cpu": "test CPU"}, "threads": 2, "short": 2, "long": 6,
                "repeats": 2, "load_average_before": [1.0], "load_average_after": [1.0], "argv": ["x"], "rows": rows}
    table = markdown(document)
    assert "| sdcpp q8_0 | 10 MiB | 3.00 s | 1.50x | 0.75x | - | - |" in table


def test_weight_types_variants_and_ratios() -> None:
    from benchmarks.weight_types import parse_variant, summarise

    assert parse_variant("q4_0-plain=q4_0:{\"weight_repack\": false}") == ("q4_0-plain", "q4_0", {"weight_repack": False})
    assert parse_variant("f16=f16") == ("f16", "f16", {})
    with pytest.raises(ValueError, match="NAME=f16"):
        parse_variant("fast=q2_K")
    rows = summarise({"f16": [4.0, 5.0, 4.5], "q4_0": [3.0, 2.0, 2.5]})
    assert rows["f16"]["per_step_s"] == pytest.approx(4.5)
    assert rows["q4_0"]["vs_first"] == pytest.approx(2.5 / 4.5)


def test_builds_table_puts_each_builds_vae_decode_against_the_first_builds() -> None:
    from benchmarks.builds import markdown, vae_decodes

    def run(short: float, long: float, decodes: tuple[float, float]) -> dict:
        return {"features": "AVX2", "threads": 2, "times": {"1": short + 5, "2": long + 5},
                "sampling": {"1": short, "2": long}, "decode": {"1": decodes[0], "2": decodes[1]}}

    document = {"schema": "sdcpp-builds/1", "argv": ["builds.py"], "size": 512, "model": "m.gguf",
                "per_step": {"new": [2.0, 2.0], "old": [3.0, 3.0]},
                "rows": {"new": [run(2, 4, (9.0, 11.0)), run(2, 4, (10.0, 10.0))],
                         "old": [run(3, 6, (15.0, 15.0)), run(3, 6, (14.0, 16.0))]}}
    assert vae_decodes(document["rows"]["new"]) == [9.0, 11.0, 10.0, 10.0]
    table = markdown(document)
    assert "| new | 2.00 s | 1.00x | 2.00, 2.00 | 5.00 s | 10.00 s | 1.00x | AVX2 |" in table
    assert "| old | 3.00 s | 1.50x | 3.00, 3.00 | 5.00 s | 15.00 s | 1.50x | AVX2 |" in table
    # a file from before the decode stage was recorded still renders, without that column's figures
    for runs in document["rows"].values():
        for row in runs:
            del row["decode"]
    assert "| new | 2.00 s | 1.00x | 2.00, 2.00 | 5.00 s | - | - | AVX2 |" in markdown(document)


def test_kernel_benchmark_measures_every_type_and_layout(tmp_path: Path) -> None:
    """benchmarks.kernels runs the C++ kernel benchmark and reports each layout it actually got."""
    sys.path.insert(0, str(REPO / "tests"))
    from engine_binaries import cpp_test_binary

    import sdcpp
    from benchmarks import kernels

    binary = cpp_test_binary("bench_mul_mat", folder="benchmarks/cpp")
    rows = kernels.with_ratios(kernels.run_benchmark(binary, seconds=0.0, threads=2, quick=True))
    by_variant = {row["variant"]: row for row in rows}
    assert list(by_variant) == ["f32", "f16", "bf16", "q8_0", "q8_0 repack", "q4_0", "q4_0 repack"]
    features = sdcpp.build_info()["cpu_features"].split()
    # which layout ggml chose: q8_0 repacks only with AVX512-VNNI (patch 0008), q4_0 with AVX2 too
    assert by_variant["q8_0 repack"]["repacked"] == ("AVX512_VNNI" in features)
    assert by_variant["q4_0 repack"]["repacked"] == ("AVX2" in features or "AVX512" in features)
    assert not any(row["repacked"] for row in rows if not row["variant"].endswith("repack"))
    limits = {"f32": 0.0, "f16": 1e-3, "bf16": 1e-2, "q8_0": 2e-2, "q8_0 repack": 2e-2, "q4_0": 2e-1,
              "q4_0 repack": 2e-1}
    for name, row in by_variant.items():
        if name.endswith("repack") and not row["repacked"]:  # no kernel for it here: reported, not timed
            assert row["error"] == "no repacked layout for this type on this CPU" and "gflops" not in row
            continue
        assert row["gflops"] > 0 and row["repeats"] >= 1
        assert row["rel_rms_vs_f32"] <= limits[name], (name, row["rel_rms_vs_f32"])
    assert by_variant["f32"]["vs_f32"] == 1.0
    # a repacked layout computes what the plain one does (the same quantized activations)
    for plain in ("q8_0", "q4_0"):
        if by_variant[f"{plain} repack"]["repacked"]:
            assert abs(by_variant[f"{plain} repack"]["rel_rms_vs_f32"] - by_variant[plain]["rel_rms_vs_f32"]) < 1e-3
    assert kernels.main(["--quick", "--seconds", "0", "--out-dir", str(tmp_path)]) == 0
    document = json.loads((tmp_path / "kernels.json").read_text())
    assert document["schema"] == kernels.SCHEMA and len(document["rows"]) == 7
    assert "| small: 64 x 320, 45 |" in (tmp_path / "kernels.md").read_text()
