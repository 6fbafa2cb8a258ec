"""Bounded load test of sdcpp-server on 127.0.0.1: many concurrent clients for a fixed time.

    python scripts/load_server.py                      # starts its own server on the synthetic model
    python scripts/load_server.py --clients 100 --duration 30 --threads 2
    python scripts/load_server.py --url http://127.0.0.1:1234   # an already running server (loopback only)

Each client loops until the time is up over a mix of requests: A1111 progress polls, info and
sampler lists, invalid txt2img bodies (422), and job submissions (64x64, 2 steps) that fill the
bounded queue (the rest answer 429). Afterwards the queue is cancelled, one more generation must
succeed, and the server's RSS after is compared with its RSS before (after a warm-up generation).
Prints throughput, latency percentiles per request kind and the RSS figures (Markdown and JSON).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import time
from typing import Any, Optional
from urllib.parse import urlparse

FAST = {"width": 64, "height": 64, "steps": 2, "cfg_scale": 1.0}
MIX = [("progress", 0.4), ("info", 0.2), ("samplers", 0.2), ("invalid", 0.1), ("submit", 0.1)]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_server(model: str, threads: int, log_path: str) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    log = open(log_path, "wb")
    process = subprocess.Popen([sys.executable, "-m", "sdcpp.server", "-m", model, "--listen-port", str(port),
                                "-t", str(threads), "-W", "64", "-H", "64", "--steps", "2", "--cfg-scale", "1"],
                               stdout=log, stderr=subprocess.STDOUT)
    return process, f"http://127.0.0.1:{port}"


async def _wait_ready(client: Any, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            response = await client.get("/sdcpp/v1/health")
            if response.status_code == 200 and response.json()["status"] == "ok":
                return
        except Exception:  # noqa: BLE001 - not listening yet
            pass
        await asyncio.sleep(0.5)
    raise SystemExit("the server did not become ready")


async def _generate(client: Any, timeout: float = 600.0) -> dict[str, Any]:
    job = (await client.post("/sdcpp/v1/jobs", json={"prompt": "a cat", **FAST})).json()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = (await client.get(f"/sdcpp/v1/jobs/{job['id']}")).json()
        if state["state"] in ("succeeded", "failed", "cancelled"):
            return dict(state)
        await asyncio.sleep(0.5)
    raise SystemExit("a generation did not finish in time")


async def _memory(client: Any) -> dict[str, Any]:
    return dict((await client.get("/sdapi/v1/memory")).json())


async def _one_client(client: Any, deadline: float, samples: dict[str, list[float]], statuses: dict[str, int],
                      submitted: list[str], rng: random.Random, generate: bool) -> None:
    mix = [(kind, weight) for kind, weight in MIX if generate or kind != "submit"]
    kinds = [kind for kind, _ in mix]
    weights = [weight for _, weight in mix]
    while time.monotonic() < deadline:
        kind = rng.choices(kinds, weights)[0]
        started = time.perf_counter()
        try:
            if kind == "progress":
                response = await client.get("/sdapi/v1/progress")
            elif kind == "info":
                response = await client.get("/sdcpp/v1/info")
            elif kind == "samplers":
                response = await client.get("/sdapi/v1/samplers")
            elif kind == "invalid":
                response = await client.post("/sdapi/v1/txt2img", json={"prompt": "x", "steps": "many"})
            else:
                response = await client.post("/sdcpp/v1/jobs", json={"prompt": "a cat", **FAST})
                if response.status_code == 202:
                    submitted.append(response.json()["id"])
            status = str(response.status_code)
        except Exception as error:  # noqa: BLE001 - counted, reported
            status = type(error).__name__
        samples.setdefault(kind, []).append(time.perf_counter() - started)
        statuses[f"{kind} {status}"] = statuses.get(f"{kind} {status}", 0) + 1


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def _round(client: Any, clients: int, duration: float, generate: bool, seed: int) -> dict[str, Any]:
    samples: dict[str, list[float]] = {}
    statuses: dict[str, int] = {}
    submitted: list[str] = []
    rng = random.Random(seed)
    started = time.perf_counter()
    deadline = time.monotonic() + duration
    await asyncio.gather(*(_one_client(client, deadline, samples, statuses, submitted, random.Random(rng.random()),
                                       generate) for _ in range(clients)))
    elapsed = time.perf_counter() - started
    for job_id in submitted:  # stop what the load queued
        await client.delete(f"/sdcpp/v1/jobs/{job_id}")
    total = sum(len(values) for values in samples.values())
    memory = await _memory(client)
    return {
        "duration_s": round(elapsed, 1), "requests": total, "throughput_rps": round(total / elapsed, 1),
        "latency_ms": {kind: {"n": len(values), "p50": round(1000 * statistics.median(values), 1),
                              "p95": round(1000 * _percentile(values, 0.95), 1),
                              "p99": round(1000 * _percentile(values, 0.99), 1)}
                       for kind, values in sorted(samples.items())},
        "statuses": dict(sorted(statuses.items())), "jobs_accepted": len(submitted),
        "rss_after_mib": round(memory["ram"]["used"] / 2**20, 1),
    }


async def run(url: str, clients: int, duration: float, rounds: int, generate: bool) -> dict[str, Any]:
    import httpx

    limits = httpx.Limits(max_connections=clients + 4, max_keepalive_connections=clients + 4)
    async with httpx.AsyncClient(base_url=url, timeout=120.0, limits=limits) as client:
        await _wait_ready(client)
        warm = await _generate(client)  # allocates the engine's compute buffers before "before"
        if warm["state"] != "succeeded":
            raise SystemExit(f"warm-up generation failed: {warm}")
        before = await _memory(client)
        results = [await _round(client, clients, duration, generate, seed) for seed in range(rounds)]
        final = await _generate(client)
        after = await _memory(client)
    return {"clients": clients, "generation_load": generate, "rounds": results,
            "rss_before_mib": round(before["ram"]["used"] / 2**20, 1),
            "rss_after_mib": round(after["ram"]["used"] / 2**20, 1),
            "jobs_kept_after": after["jobs"]["jobs_kept"], "result_bytes_after": after["jobs"]["result_bytes"],
            "final_generation": final["state"]}


def _markdown(report: dict[str, Any]) -> str:
    lines = [f"{report['clients']} clients, job submissions {'on' if report['generation_load'] else 'off'}; "
             f"RSS {report['rss_before_mib']} MiB before (after a warm-up generation), "
             + ", ".join(f"{r['rss_after_mib']} MiB after round {i + 1}" for i, r in enumerate(report["rounds"]))
             + f"; final generation: {report['final_generation']}, jobs kept after: {report['jobs_kept_after']}", ""]
    for index, result in enumerate(report["rounds"]):
        lines += [f"round {index + 1}: {result['requests']} requests in {result['duration_s']} s = "
                  f"{result['throughput_rps']} requests/s", "",
                  "| request | n | p50 ms | p95 ms | p99 ms |", "|---|---|---|---|---|"]
        for kind, figures in result["latency_ms"].items():
            lines.append(f"| {kind} | {figures['n']} | {figures['p50']} | {figures['p95']} | {figures['p99']} |")
        lines += ["", "statuses: " + ", ".join(f"{key}: {value}" for key, value in result["statuses"].items()), ""]
    return "\n".join(lines)


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running server on 127.0.0.1 (default: start one)")
    parser.add_argument("--model", help="model for the started server (default: the synthetic SD1.x q8_0)")
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of load (default: 30)")
    parser.add_argument("--threads", type=int, default=2, help="engine threads of the started server")
    parser.add_argument("--rounds", type=int, default=2, help="load rounds, RSS measured after each (default: 2)")
    parser.add_argument("--no-generation", action="store_true", help="leave job submissions out of the mix")
    parser.add_argument("--log", default="load_server.log", help="the started server's log file")
    parser.add_argument("--json", help="also write the report here")
    args = parser.parse_args(argv)
    if not 1 <= args.clients <= 1000 or not 0 < args.duration <= 600 or not 1 <= args.rounds <= 10:
        parser.error("--clients must be 1..1000, --duration 0..600 s and --rounds 1..10")
    process = None
    url = args.url
    if url is not None and urlparse(url).hostname not in ("127.0.0.1", "localhost", "::1"):
        parser.error("--url must be a loopback address: this script only loads this machine")
    if url is None:
        model = args.model
        if model is None:
            from pathlib import Path

            from sdcpp.testing import ensure_synthetic_model

            model = str(ensure_synthetic_model("sd15", "q8_0", cache_dir=Path(os.environ.get(
                "SDCPP_CACHE_DIR", Path(__file__).resolve().parent.parent / ".cache"))))
        process, url = _start_server(model, args.threads, args.log)
    try:
        report = asyncio.run(run(url, args.clients, args.duration, args.rounds, not args.no_generation))
    finally:
        if process is not None:
            process.send_signal(signal.SIGTERM)
            report_exit = process.wait(120)
            print(f"server exit status: {report_exit}", file=sys.stderr)
    print(_markdown(report))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(report, handle, indent=2)
    return 0 if report["final_generation"] == "succeeded" else 1


if __name__ == "__main__":
    sys.exit(main())
