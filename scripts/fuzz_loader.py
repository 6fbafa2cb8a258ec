#!/usr/bin/env python3
"""Fuzz the model loader: sdcpp's header validation, then the engine's own loader.

Small seed files (GGUF, safetensors and torch-zip ``.ckpt`` with a few tensors under SD1.x
names) are mutated (bit flips, interesting integers, truncation, byte insertion/deletion,
JSON and pickle edits). Every mutant goes through :func:`sdcpp.model_check.inspect_model`;
a mutant it accepts is then loaded by the engine in a child process (``convert`` keeping the
types, ``convert`` to q8_0, and ``new_sd_ctx``), so an engine crash shows up as the child
dying by a signal instead of taking the fuzzer down. Crashing inputs are kept in ``--out``.

    python scripts/fuzz_loader.py --seconds 300 --out .cache/fuzz

Prints the number of files tried, how many validation refused, how many reached the engine,
and the crashes (validation exceptions other than ModelLoadError count as crashes too).
"""
from __future__ import annotations

import argparse
import io
import json
import os
import pickle
import random
import select
import shutil
import signal
import struct
import subprocess
import sys
import time
import types
import zipfile
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

# -- seed files --------------------------------------------------------------------------------------

SEED_TENSORS: list[tuple[str, tuple[int, ...]]] = [
    ("model.diffusion_model.input_blocks.0.0.weight", (8, 4, 3, 3)),
    ("model.diffusion_model.input_blocks.0.0.bias", (8,)),
    ("first_stage_model.decoder.conv_out.weight", (3, 8, 3, 3)),
    ("cond_stage_model.transformer.text_model.embeddings.position_embedding.weight", (4, 64)),
]
"""(name, shape) of the seed tensors, shapes in PyTorch order (outermost first)."""


def write_safetensors(path: Path, tensors: Sequence[tuple[str, tuple[int, ...]]] = SEED_TENSORS,
                      dtype: str = "F16") -> Path:
    """Write a small safetensors file with random data (F16 or F32)."""
    np_dtype = {"F16": np.float16, "F32": np.float32}[dtype]
    rng = np.random.default_rng(0)
    header: dict[str, Any] = {"__metadata__": {"format": "pt"}}
    blobs = []
    offset = 0
    for name, shape in tensors:
        data = rng.standard_normal(shape).astype(np_dtype).tobytes()
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + b"".join(blobs))
    return path


def _gguf_string(text: bytes) -> bytes:
    return struct.pack("<Q", len(text)) + text


def write_gguf(path: Path, tensors: Sequence[tuple[str, tuple[int, ...]]] = SEED_TENSORS,
               metadata: Optional[dict[str, Any]] = None, alignment: int = 32) -> Path:
    """Write a small GGUF v3 file of f32 tensors; ``metadata`` values: int (u32), str or list of int."""
    rng = np.random.default_rng(0)
    kv = b""
    items = dict(metadata or {})
    for key, value in items.items():
        kv += _gguf_string(key.encode())
        if isinstance(value, str):
            kv += struct.pack("<I", 8) + _gguf_string(value.encode())
        elif isinstance(value, list):
            kv += struct.pack("<IIQ", 9, 5, len(value)) + struct.pack(f"<{len(value)}i", *value)
        else:
            kv += struct.pack("<II", 4, value)
    infos = b""
    blobs = b""
    for name, shape in tensors:
        ne = tuple(reversed(shape))  # ggml order: innermost first
        data = rng.standard_normal(shape).astype(np.float32).tobytes()
        infos += _gguf_string(name.encode()) + struct.pack("<I", len(ne))
        infos += struct.pack(f"<{len(ne)}q", *ne) + struct.pack("<IQ", 0, len(blobs))
        blobs += data + b"\0" * (-len(data) % alignment)
    header = b"GGUF" + struct.pack("<Iqq", 3, len(tensors), len(items)) + kv + infos
    header += b"\0" * (-len(header) % alignment)
    path.write_bytes(header + blobs)
    return path


class _FakeStorage:
    """Stands for a torch storage while pickling a checkpoint without torch."""

    def __init__(self, key: str, numel: int, kind: Any) -> None:
        self.key, self.numel, self.kind = key, numel, kind


def _fake_torch() -> tuple[Any, Any]:
    """Install a tiny ``torch`` module whose names pickle like the real ones."""
    torch = types.ModuleType("torch")
    utils = types.ModuleType("torch._utils")

    def _rebuild_tensor_v2(*args: Any) -> None:
        raise RuntimeError("never called")

    class FloatStorage:
        pass

    _rebuild_tensor_v2.__module__, _rebuild_tensor_v2.__qualname__ = "torch._utils", "_rebuild_tensor_v2"
    FloatStorage.__module__, FloatStorage.__qualname__ = "torch", "FloatStorage"
    utils._rebuild_tensor_v2 = _rebuild_tensor_v2  # type: ignore[attr-defined]
    torch.FloatStorage = FloatStorage  # type: ignore[attr-defined]
    torch._utils = utils  # type: ignore[attr-defined]
    sys.modules.setdefault("torch", torch)
    sys.modules.setdefault("torch._utils", utils)
    return sys.modules["torch._utils"]._rebuild_tensor_v2, sys.modules["torch"].FloatStorage


class _Tensor:
    def __init__(self, storage: _FakeStorage, shape: tuple[int, ...]) -> None:
        self.storage, self.shape = storage, shape

    def __reduce__(self) -> Any:
        rebuild, _ = _fake_torch()
        strides = tuple(int(np.prod(self.shape[i + 1:])) for i in range(len(self.shape)))
        return (rebuild, (self.storage, 0, self.shape, strides, False, {}))


class _CheckpointPickler(pickle.Pickler):
    def persistent_id(self, obj: Any) -> Any:
        if isinstance(obj, _FakeStorage):
            return ("storage", obj.kind, obj.key, "cpu", obj.numel)
        return None


def write_ckpt(path: Path, tensors: Sequence[tuple[str, tuple[int, ...]]] = SEED_TENSORS,
               extra: Any = None) -> Path:
    """Write a torch-zip checkpoint ({"state_dict": {name: tensor}}) of f32 tensors, like torch.save.

    ``extra`` is pickled into the top-level dict under "extra" (for tests of refused content).
    """
    _, float_storage = _fake_torch()
    rng = np.random.default_rng(0)
    state: dict[str, Any] = {}
    storages = {}
    for index, (name, shape) in enumerate(tensors):
        storage = _FakeStorage(str(index), int(np.prod(shape)), float_storage)
        storages[storage.key] = rng.standard_normal(shape).astype(np.float32).tobytes()
        state[name] = _Tensor(storage, shape)
    top: dict[str, Any] = {"state_dict": state}
    if extra is not None:
        top["extra"] = extra
    buffer = io.BytesIO()
    _CheckpointPickler(buffer, protocol=2).dump(top)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("archive/data.pkl", buffer.getvalue())
        for key, data in storages.items():
            archive.writestr(f"archive/data/{key}", data)
        archive.writestr("archive/version", b"3\n")
    return path


def make_seeds(directory: Path) -> list[Path]:
    """The seed corpus: one small file per format (and a GGUF with metadata)."""
    directory.mkdir(parents=True, exist_ok=True)
    return [
        write_gguf(directory / "seed.gguf"),
        write_gguf(directory / "seed-meta.gguf",
                   tensors=[(name[:60], shape) for name, shape in SEED_TENSORS],
                   metadata={"general.alignment": 32, "general.name": "seed", "ids": [1, 2, 3]}),
        write_safetensors(directory / "seed.safetensors"),
        write_safetensors(directory / "seed-f32.safetensors", dtype="F32"),
        write_ckpt(directory / "seed.ckpt"),
    ]


# -- mutations ---------------------------------------------------------------------------------------

INTERESTING = [0, 1, 2, 3, 4, 5, 8, 9, 12, 13, 31, 32, 41, 63, 64, 127, 128, 255, 256, 4096, 65535,
               2**31 - 1, 2**31, 2**32 - 1, 2**32, 2**62, 2**63 - 1, 2**63, 2**64 - 1]


def _header_end(data: bytes) -> int:
    """A rough end of the header, where most mutations are aimed."""
    if data[:4] == b"GGUF":
        return min(len(data), max(64, data.find(b"\0" * 16, 24)))
    if len(data) >= 8 and data[:2] != b"PK":
        return min(len(data), 8 + struct.unpack("<Q", data[:8])[0])
    return len(data)


def mutate(data: bytes, rng: random.Random) -> bytes:
    """One to four random mutations of ``data``, mostly inside its header."""
    buffer = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        limit = max(1, _header_end(bytes(buffer)) if rng.random() < 0.85 else len(buffer))
        pos = rng.randrange(limit) if buffer else 0
        choice = rng.randrange(8)
        if choice == 0 and buffer:
            buffer[pos] ^= 1 << rng.randrange(8)
        elif choice == 1 and buffer:
            buffer[pos] = rng.choice([0, 1, 0x7F, 0x80, 0xFF, rng.randrange(256)])
        elif choice == 2:
            width = rng.choice([4, 8])
            value = rng.choice(INTERESTING) % (1 << (8 * width))
            buffer[pos:pos + width] = value.to_bytes(width, "little")
        elif choice == 3:
            del buffer[rng.randrange(len(buffer) + 1):]
        elif choice == 4:
            del buffer[pos:pos + rng.randint(1, 16)]
        elif choice == 5:
            buffer[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
        elif choice == 6:
            buffer = bytearray(_mutate_json(bytes(buffer), rng))
        else:
            buffer = bytearray(_mutate_pickle(bytes(buffer), rng))
    return bytes(buffer)


def _mutate_json(data: bytes, rng: random.Random) -> bytes:
    """Edit one value of a safetensors header, keeping it valid JSON."""
    try:
        size = struct.unpack("<Q", data[:8])[0]
        header = json.loads(data[8:8 + size])
        name = rng.choice([key for key in header if key != "__metadata__"])
    except (ValueError, IndexError, struct.error, TypeError, AttributeError):
        return data
    entry = header[name]
    if not isinstance(entry, dict):
        return data
    field = rng.choice(["dtype", "shape", "data_offsets", "drop", "entry"])
    if field == "dtype":
        entry["dtype"] = rng.choice(["F16", "F32", "BF16", "F64", "I64", "I32", "U8", "BOOL", "F8_E4M3", 7, None])
    elif field == "shape":
        entry["shape"] = rng.choice([[], [0], [1, 2, 3, 4, 5, 6], [-1, 4], [2**62, 4], ["8"], [8.0], 5])
    elif field == "data_offsets":
        entry["data_offsets"] = rng.choice([[0, 0], [10, 5], [0, 2**40], [-8, 8], [0], "x", [0.5, 8]])
    elif field == "drop":
        entry.pop(rng.choice(["dtype", "shape", "data_offsets"]), None)
    else:
        header[name] = rng.choice([[], 3, "tensor", None])
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + data[8 + size:]


def _mutate_pickle(data: bytes, rng: random.Random) -> bytes:
    """Flip bytes of a .ckpt's data.pkl and rebuild the zip around it."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = [(info.filename, archive.read(info)) for info in archive.infolist()]
    except (zipfile.BadZipFile, ValueError, EOFError, struct.error, KeyError, OSError, RuntimeError):
        return data
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        for name, content in entries:
            if name.endswith("data.pkl") and content:
                body = bytearray(content)
                for _ in range(rng.randint(1, 3)):
                    pos = rng.randrange(len(body))
                    if rng.random() < 0.5:
                        body[pos] = rng.randrange(256)
                    else:
                        body[pos:pos + 4] = rng.choice(INTERESTING[:20]).to_bytes(4, "little")
                content = bytes(body)
            archive.writestr(name, content)
    return out.getvalue()


# -- engine probe (child process) --------------------------------------------------------------------


def probe_main() -> int:
    """Child: for each path on stdin, run the engine's loaders without sdcpp's validation."""
    import logging

    logging.disable(logging.CRITICAL)
    from sdcpp._ffi import ffi, lib

    # The engine prints its loading progress bar to stdout: answer on a copy of it instead.
    answers = os.fdopen(os.dup(1), "w", buffering=1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    for line in sys.stdin:
        path = line.rstrip("\n")
        print(f"BEGIN {path}", file=answers, flush=True)
        out = path + ".out.gguf"
        results = []
        for out_type in (lib.SD_TYPE_COUNT, lib.SD_TYPE_Q8_0):
            results.append(bool(lib.convert(path.encode(), ffi.NULL, out.encode(), out_type, b"", False)))
            if os.path.exists(out):
                os.unlink(out)
        params = ffi.new("sd_ctx_params_t*")
        lib.sd_ctx_params_init(params)
        model = ffi.new("char[]", path.encode())
        params.model_path = model
        params.n_threads = 1
        ctx = lib.new_sd_ctx(params)
        results.append(ctx != ffi.NULL)
        if ctx != ffi.NULL:
            lib.free_sd_ctx(ctx)
        print(f"END {' '.join('ok' if r else 'fail' for r in results)}", file=answers, flush=True)
    return 0


class EngineProbe:
    """A child process running :func:`probe_main`; restarted after a crash."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.child: Optional[subprocess.Popen[bytes]] = None
        self.pending = b""

    def _start(self) -> subprocess.Popen[bytes]:
        if self.child is None or self.child.poll() is not None:
            self.child = subprocess.Popen(
                [sys.executable, __file__, "--probe"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL, bufsize=0)
            self.pending = b""
        return self.child

    def _line(self, child: subprocess.Popen[bytes], deadline: float) -> Optional[bytes]:
        """The child's next answer line; b"" when it died, None on timeout."""
        assert child.stdout is not None
        while b"\n" not in self.pending:
            ready, _, _ = select.select([child.stdout], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                return None
            chunk = os.read(child.stdout.fileno(), 4096)
            if not chunk:
                return b""
            self.pending += chunk
        line, _, self.pending = self.pending.partition(b"\n")
        return line + b"\n"

    def load(self, path: Path) -> tuple[str, str]:
        """('ok'|'refused'|'crash'|'hang', detail) for one file."""
        child = self._start()
        assert child.stdin is not None
        child.stdin.write(f"{path}\n".encode())
        deadline = time.monotonic() + self.timeout
        while True:
            line = self._line(child, deadline)
            if line is None:
                self.close()
                return "hang", f"no answer within {self.timeout:.0f} s"
            if not line:
                code = child.wait()
                self.close()
                name = signal.Signals(-code).name if code < 0 else f"exit {code}"
                return "crash", name
            if line.startswith(b"END "):
                outcome = line[4:].decode().strip()
                return ("ok" if "ok" in outcome else "refused"), outcome

    def close(self) -> None:
        """Stop the child (if running) and close its pipes."""
        child, self.child = self.child, None
        if child is None:
            return
        if child.poll() is None:
            child.kill()
        child.wait()
        for pipe in (child.stdin, child.stdout):
            if pipe is not None:
                pipe.close()


# -- driver ------------------------------------------------------------------------------------------


def fuzz(seconds: float, out: Path, seed: int, engine: bool, timeout: float) -> dict[str, Any]:
    """Mutate the seeds for ``seconds``; return the figures (and keep crashing inputs in ``out``)."""
    from sdcpp.errors import ModelLoadError
    from sdcpp.model_check import inspect_model

    rng = random.Random(seed)
    work = out / "work"
    seeds = make_seeds(out / "seeds")
    corpus = [path.read_bytes() for path in seeds]
    probe = EngineProbe(timeout) if engine else None
    stats: dict[str, Any] = {"tried": 0, "refused": 0, "accepted": 0, "engine_ok": 0, "engine_refused": 0,
                             "crashes": [], "by_format": {}}
    work.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    try:
        while time.monotonic() - started < seconds:
            index = rng.randrange(len(corpus))
            suffix = seeds[index].suffix
            data = mutate(corpus[index], rng)
            candidate = work / f"mutant{suffix}"
            candidate.write_bytes(data)
            stats["tried"] += 1
            stats["by_format"][suffix] = stats["by_format"].get(suffix, 0) + 1
            try:
                inspect_model(candidate)
            except ModelLoadError:
                stats["refused"] += 1
                continue
            except Exception as error:  # a crash of the validator itself
                _keep(out, candidate, stats, f"validator raised {type(error).__name__}: {error}")
                continue
            stats["accepted"] += 1
            if probe is None:
                continue
            verdict, detail = probe.load(candidate)
            if verdict in ("crash", "hang"):
                _keep(out, candidate, stats, f"engine {verdict} ({detail}) on a file validation accepted")
            else:
                stats["engine_ok" if verdict == "ok" else "engine_refused"] += 1
    finally:
        if probe is not None:
            probe.close()
    stats["seconds"] = round(time.monotonic() - started, 1)
    return stats


def _keep(out: Path, candidate: Path, stats: dict[str, Any], why: str) -> None:
    target = out / "crashes" / f"crash-{len(stats['crashes']):03d}{candidate.suffix}"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(candidate, target)
    stats["crashes"].append({"file": str(target), "why": why})


def raw_engine(out: Path, count: int, seed: int, timeout: float) -> dict[str, Any]:
    """Load ``count`` mutants straight into the engine, without validation: what it does alone."""
    rng = random.Random(seed)
    seeds = make_seeds(out / "seeds")
    corpus = [path.read_bytes() for path in seeds]
    probe = EngineProbe(timeout)
    outcomes: dict[str, int] = {}
    examples: dict[str, str] = {}
    work = out / "raw"
    work.mkdir(parents=True, exist_ok=True)
    try:
        for number in range(count):
            index = rng.randrange(len(corpus))
            candidate = work / f"raw-{number:04d}{seeds[index].suffix}"
            candidate.write_bytes(mutate(corpus[index], rng))
            verdict, detail = probe.load(candidate)
            key = f"{verdict} {detail}" if verdict in ("crash", "hang") else verdict
            outcomes[key] = outcomes.get(key, 0) + 1
            if verdict in ("crash", "hang"):
                examples.setdefault(key, str(candidate))
                print(f"{number}: {key}: {candidate}", file=sys.stderr, flush=True)
            else:
                candidate.unlink()
    finally:
        probe.close()
    return {"loaded": count, "outcomes": outcomes, "examples": examples}


def atheris_fuzz(seconds: float, out: Path, engine: bool, timeout: float) -> int:
    """Coverage-guided fuzzing with atheris (libFuzzer): the validator runs in-process, instrumented;
    inputs it accepts are loaded by the engine in the child process. A validator exception other
    than ModelLoadError, or an engine crash/hang, stops the run and libFuzzer keeps the input."""
    import atheris  # pip install atheris (the "fuzz" extra)

    from sdcpp import model_check
    from sdcpp.errors import ModelLoadError

    atheris.instrument_func(model_check.inspect_model)
    for name in dir(model_check):  # the validator's helpers, for coverage feedback
        value = getattr(model_check, name)
        if callable(value) and getattr(value, "__module__", None) == model_check.__name__ \
                and hasattr(value, "__code__"):
            setattr(model_check, name, atheris.instrument_func(value))

    seeds = make_seeds(out / "seeds")
    corpus = out / "atheris-corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    for seed_file in seeds:
        shutil.copyfile(seed_file, corpus / seed_file.name)
    work = out / "work"
    work.mkdir(parents=True, exist_ok=True)
    probe = EngineProbe(timeout) if engine else None
    counts = {"tried": 0, "accepted": 0}

    def test_one_input(data: bytes) -> None:
        suffix = ".gguf" if data[:4] == b"GGUF" else ".ckpt" if data[:2] == b"PK" else ".safetensors"
        candidate = work / f"atheris{suffix}"
        candidate.write_bytes(data)
        counts["tried"] += 1
        try:
            model_check.inspect_model(candidate)
        except ModelLoadError:
            return
        counts["accepted"] += 1
        # libFuzzer ends the process without returning: keep the figures on disk as they change.
        (out / "atheris-counts.json").write_text(json.dumps(counts))
        if probe is not None:
            verdict, detail = probe.load(candidate)
            if verdict in ("crash", "hang"):
                raise RuntimeError(f"engine {verdict} ({detail}) on a file validation accepted")

    atheris.Setup([sys.argv[0], f"-max_total_time={int(seconds)}", f"-artifact_prefix={out}/crashes-",
                   "-max_len=65536", str(corpus)], test_one_input)
    try:
        atheris.Fuzz()
    except SystemExit:
        pass
    finally:
        if probe is not None:
            probe.close()
        print(json.dumps(counts), file=sys.stderr)
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="how long to fuzz")
    parser.add_argument("--out", type=Path, default=Path(".cache/fuzz"), help="seeds, work files, crashes")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the mutator")
    parser.add_argument("--no-engine", action="store_true", help="only run the validation")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds an engine load may take")
    parser.add_argument("--raw-engine", type=int, default=0, metavar="N",
                        help="instead: feed N mutants to the engine without validation and count its crashes")
    parser.add_argument("--atheris", action="store_true",
                        help="coverage-guided fuzzing with atheris/libFuzzer instead of the built-in mutator")
    parser.add_argument("--probe", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.probe:
        return probe_main()
    if args.atheris:
        return atheris_fuzz(args.seconds, args.out, not args.no_engine, args.timeout)
    if args.raw_engine:
        print(json.dumps(raw_engine(args.out, args.raw_engine, args.seed, args.timeout), indent=2))
        return 0
    stats = fuzz(args.seconds, args.out, args.seed, not args.no_engine, args.timeout)
    print(json.dumps(stats, indent=2))
    return 1 if stats["crashes"] else 0


if __name__ == "__main__":
    sys.exit(main())
