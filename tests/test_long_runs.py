"""Bounded soak: repeated generations and repeated Context open/close do not leak memory.

The full run (200 generations, 50 cycles) is ``python scripts/soak.py``; this is its short form.
"""
from __future__ import annotations

import gc
import sys
from pathlib import Path
from typing import Any

import sdcpp

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))
import soak  # noqa: E402

MIB = 1024 * 1024


def test_repeated_generations_with_and_without_deepcache_do_not_grow_rss(context: Any) -> None:
    samples = soak.run_generations(context, 12, sizes=(64,))
    figures = soak.growth(samples, 6)
    assert figures["end_growth_percent"] < 2.0, figures
    assert figures["peak_growth_percent"] < 2.0, figures


def test_closing_a_context_returns_its_memory(sd15_model: Path) -> None:
    gc.collect()
    before = soak.rss_bytes()
    context = sdcpp.Context(sd15_model, threads=2)
    loaded = soak.rss_bytes()
    context.close()
    gc.collect()
    after = soak.rss_bytes()
    assert loaded - before > 1000 * MIB  # the q8_0 model is ~1.7 GB in memory
    assert after - before < 0.1 * (loaded - before), (before / MIB, loaded / MIB, after / MIB)


def test_opening_and_closing_contexts_does_not_grow_rss(sd15_model: Path) -> None:
    samples = soak.open_close(sd15_model, 10, threads=2)
    settled = samples[2:]
    assert max(settled) - settled[0] < 64 * MIB, [round(s / MIB) for s in samples]
