"""The DeepCache / upstream-cache grid: specifications and the interleaved runner.

A *group* is one model and one set of generation settings (size, steps, sampler, cfg, threads). Each
group measures a no-cache baseline and a list of cache *variants* in one process, interleaving:
baseline, a few variants, baseline again, ..., so that each variant run is compared with the mean of
the baselines that bracket it in time (drift on a shared machine cancels to first order).
"""
from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass
from typing import Any, Iterable, Optional, Sequence

import sdcpp

DEFAULT_PROMPT = "a photograph of an astronaut riding a horse"


@dataclass(frozen=True)
class Variant:
    """One cache setting: DeepCache (interval, depth) or an upstream cache mode."""

    family: str  # "deepcache", "ucache", "spectrum", or "baseline"
    interval: Optional[int] = None
    depth: Optional[int] = None

    @property
    def label(self) -> str:
        if self.family == "deepcache":
            return f"deepcache N={self.interval} d={self.depth}"
        return self.family

    def options(self) -> dict[str, Any]:
        """Keyword arguments for Context.generate."""
        if self.family == "deepcache":
            return {"deepcache": sdcpp.DeepCache(interval=self.interval or 1, depth=self.depth or 0)}
        if self.family in ("ucache", "spectrum"):
            return {"cache_mode": self.family}
        return {}


BASELINE = Variant("baseline")


@dataclass(frozen=True)
class Group:
    """A model and generation settings, with the variants to compare against its baseline."""

    kind: str  # "sd15" or "sdxl" (synthetic layouts)
    quant: str
    size: int
    steps: int
    method: str
    cfg_scale: float
    variants: tuple[Variant, ...]
    threads: int = 2
    repeats: int = 1
    baseline_every: int = 4  # a baseline after every this many variant runs (0: only first and last)
    trailing_baseline: bool = True

    @property
    def tag(self) -> str:
        cfg = f"{self.cfg_scale:g}".replace(".", "p")
        return f"{self.kind}-{self.quant}-{self.size}-{self.steps}-{self.method}-cfg{cfg}-t{self.threads}"

    def generate_options(self) -> dict[str, Any]:
        return {"prompt": DEFAULT_PROMPT, "width": self.size, "height": self.size, "steps": self.steps,
                "cfg_scale": self.cfg_scale, "seed": 42, "sampling_method": self.method}

    def schedule(self) -> list[Variant]:
        """The order of runs: baselines interleaved with the variants, repeated ``repeats`` times
        (every other repetition in reverse order)."""
        order: list[Variant] = [BASELINE]
        since_baseline = 0
        for repetition in range(self.repeats):
            variants = self.variants if repetition % 2 == 0 else tuple(reversed(self.variants))
            for variant in variants:
                order.append(variant)
                since_baseline += 1
                if self.baseline_every and since_baseline >= self.baseline_every:
                    order.append(BASELINE)
                    since_baseline = 0
        if self.trailing_baseline and order[-1] != BASELINE:
            order.append(BASELINE)
        return order

    def describe(self) -> dict[str, Any]:
        data = asdict(self)
        data["variants"] = [variant.label for variant in self.variants]
        data["tag"] = self.tag
        return data


def deepcache_variants(intervals: Iterable[int], depths: Iterable[int]) -> list[Variant]:
    return [Variant("deepcache", interval, depth) for interval, depth in itertools.product(intervals, depths)]


UPSTREAM_VARIANTS = (Variant("ucache"), Variant("spectrum"))


def full_grid(kinds: Sequence[str] = ("sd15",), quants: Sequence[str] = ("q8_0", "q4_0"),
              sizes: Sequence[int] = (256, 512), steps: Sequence[int] = (20, 50),
              methods: Sequence[str] = ("euler", "dpm++2m"), cfgs: Sequence[float] = (7.0, 1.0),
              intervals: Sequence[int] = (2, 3, 5), depths: Sequence[int] = (0, 1, 2),
              upstream: bool = True, sdxl: bool = True, threads: int = 2, repeats: int = 1,
              baseline_every: int = 4) -> list[Group]:
    """Every combination of the given settings, plus (``sdxl``) the SDXL layout at 512x512 with
    N=3, d=0/1 (q8_0, 20 steps, euler, cfg 7 and 1)."""
    variants = tuple(deepcache_variants(intervals, depths)) + (UPSTREAM_VARIANTS if upstream else ())
    groups = [Group(kind, quant, size, n_steps, method, cfg, variants, threads, repeats, baseline_every)
              for kind, quant, size, n_steps, method, cfg
              in itertools.product(kinds, quants, sizes, steps, methods, cfgs)]
    if sdxl and "sdxl" not in kinds:
        sdxl_variants = tuple(deepcache_variants((3,), (0, 1))) + (UPSTREAM_VARIANTS if upstream else ())
        groups += [Group("sdxl", "q8_0", 512, 20, "euler", cfg, sdxl_variants, threads, repeats, baseline_every)
                   for cfg in (7.0, 1.0)]
    return groups


def quick_grid(threads: int = 2) -> list[Group]:
    """A few minutes on 2 cores: 128x128, 6 steps, a handful of rows."""
    variants = (Variant("deepcache", 2, 0), Variant("deepcache", 3, 1)) + UPSTREAM_VARIANTS
    return [Group("sd15", "q8_0", 128, 6, "euler", 7.0, variants, threads, baseline_every=2)]


def measured_subset(threads: int = 2) -> list[Group]:
    """The subset docs/performance.md reports: about an hour on 2 cores shared with other work.

    256x256; 10 steps at cfg 7 and 20 steps at cfg 1, so that every baseline is 20 U-Net calls.
    """
    main = tuple(deepcache_variants((2, 3, 5), (0, 1, 2))) + UPSTREAM_VARIANTS
    pair = (Variant("deepcache", 3, 0), Variant("deepcache", 5, 1))
    return [
        Group("sd15", "q8_0", 256, 10, "euler", 7.0, main, threads, baseline_every=6),
        Group("sd15", "q8_0", 256, 20, "euler", 1.0, pair, threads, baseline_every=0),
        Group("sd15", "q4_0", 256, 10, "euler", 7.0, pair, threads, baseline_every=0, trailing_baseline=False),
        Group("sd15", "q8_0", 256, 10, "dpm++2m", 7.0, pair, threads, baseline_every=0, trailing_baseline=False),
    ]


def variations_subset(threads: int = 1) -> list[Group]:
    """cfg 1, q4_0 and dpm++2m next to the main grid, at 128x128 and 10 steps (about 15 minutes
    at 1 thread on a shared 2-core machine)."""
    pair = (Variant("deepcache", 3, 0), Variant("deepcache", 5, 1))
    return [
        Group("sd15", "q8_0", 128, 10, "euler", 1.0, pair, threads, baseline_every=0, trailing_baseline=False),
        Group("sd15", "q8_0", 128, 10, "dpm++2m", 7.0, pair, threads, baseline_every=0, trailing_baseline=False),
        Group("sd15", "q4_0", 128, 10, "euler", 7.0, pair, threads, baseline_every=0, trailing_baseline=False),
    ]


def large_subset(threads: int = 2) -> list[Group]:
    """512x512: one baseline and N=3 d=0 (about 25 minutes on 2 cores)."""
    return [Group("sd15", "q8_0", 512, 20, "euler", 7.0, (Variant("deepcache", 3, 0),), threads,
                  baseline_every=0, trailing_baseline=False)]


def evidence_subset(threads: int = 2) -> list[Group]:
    """About 2 hours of a quiet 2-core machine beyond the 256x256 grid (the 512x512 group alone
    is ~95 minutes, 12 per baseline): the 512x512
    DeepCache grid (N=2/3/5, cfg 1, so that each baseline is 20 U-Net calls), the SDXL layout at
    512x512 with N=3 d=0/1, 50 steps (q4_0) and dpm++2m at 256x256."""
    grid512 = tuple(deepcache_variants((3, 5), (0, 1, 2))) + (Variant("deepcache", 2, 0),) + UPSTREAM_VARIANTS
    pair = (Variant("deepcache", 3, 0), Variant("deepcache", 5, 1))
    return [
        Group("sd15", "q8_0", 512, 20, "euler", 1.0, grid512, threads, baseline_every=5),
        Group("sdxl", "q8_0", 512, 10, "euler", 1.0, tuple(deepcache_variants((3,), (0, 1))), threads,
              baseline_every=0, trailing_baseline=False),
        Group("sd15", "q4_0", 256, 50, "euler", 1.0, pair, threads, baseline_every=0, trailing_baseline=False),
        Group("sd15", "q8_0", 256, 20, "dpm++2m", 7.0, pair, threads, baseline_every=0, trailing_baseline=False),
    ]
