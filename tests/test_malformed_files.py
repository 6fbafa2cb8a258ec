"""Damaged, foreign and hostile model files are refused with a clear ModelLoadError, never a crash.

Malformed copies of the synthetic SD1.x model are sparse files: its real header followed by a hole
of the original size, so a "1.8 GB" variant costs a few hundred KB of disk. Small GGUF,
safetensors and .ckpt files come from the fuzzer's seed builders (scripts/fuzz_loader.py).
"""
from __future__ import annotations

import json
import os
import random
import shutil
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

import pytest

import sdcpp
from sdcpp.errors import InvalidArgument, ModelLoadError
from sdcpp.model_check import inspect_model
from sdcpp.models import model_format
from sdcpp.testing.synthetic import GENERATOR_VERSION

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))
import fuzz_loader  # noqa: E402

SYNTHETIC_F16 = f"sd15-synthetic-v{GENERATOR_VERSION}-seed0-f16.safetensors"


# -- helpers ---------------------------------------------------------------------------------------


def sparse_copy(source: Path, target: Path, size: int | None = None) -> Path:
    """The header of ``source`` (up to its first tensor's data) in a sparse file of ``size`` bytes."""
    info = inspect_model(source)
    header_end = min(tensor.offset for tensor in info.tensors)
    with open(source, "rb") as stream:
        header = stream.read(header_end)
    with open(target, "wb") as out:
        out.write(header[: size if size is not None else len(header)])
        out.truncate(info.file_size if size is None else size)
    return target


def patched(source: Path, target: Path, position: int, data: bytes) -> Path:
    """A copy of ``source`` (sparse if large) with ``data`` written at ``position``."""
    if source.stat().st_size > 64 * 1024 * 1024:
        sparse_copy(source, target)
    else:
        shutil.copyfile(source, target)
    with open(target, "r+b") as stream:
        stream.seek(position)
        stream.write(data)
    return target


def refused(path: Path, *fragments: str) -> str:
    """Assert that model_format refuses ``path`` with a message holding the path and each fragment."""
    with pytest.raises(ModelLoadError) as caught:
        model_format(path)
    message = str(caught.value)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message, message
    return message


@pytest.fixture(scope="module")
def seeds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The fuzzer's small seed files, keyed by file name."""
    directory = tmp_path_factory.mktemp("seeds")
    return {path.name: path for path in fuzz_loader.make_seeds(directory)}


@pytest.fixture(scope="module")
def sd15_safetensors(sd15_model: Path) -> Path:
    """The synthetic SD1.x checkpoint as f16 safetensors (written next to the GGUF when missing)."""
    from sdcpp.testing import ensure_synthetic_checkpoint

    path = ensure_synthetic_checkpoint("sd15", "f16", cache_dir=sd15_model.parent.parent)
    assert path.name == SYNTHETIC_F16
    return path


def gguf_tensor0_fields(path: Path) -> dict[str, int]:
    """File positions of the first tensor info's fields (the synthetic GGUF has no metadata)."""
    with open(path, "rb") as stream:
        head = stream.read(4096)
    _, _, n_tensors, n_kv = struct.unpack("<4sIqq", head[:24])
    assert n_kv == 0 and n_tensors > 0
    (name_length,) = struct.unpack("<Q", head[24:32])
    n_dims_at = 32 + name_length
    (n_dims,) = struct.unpack("<I", head[n_dims_at:n_dims_at + 4])
    type_at = n_dims_at + 4 + 8 * n_dims
    return {"n_tensors": 8, "n_kv": 16, "n_dims": n_dims_at, "dim0": n_dims_at + 4, "type": type_at,
            "offset": type_at + 4}


# -- valid files pass, fast ------------------------------------------------------------------------


def test_valid_models_pass_in_milliseconds(sd15_model: Path, sd15_safetensors: Path, seeds: dict[str, Path]) -> None:
    for path, kind in ((sd15_model, "gguf"), (sd15_safetensors, "safetensors")):
        started = time.perf_counter()
        assert model_format(path) == kind
        assert time.perf_counter() - started < 1.0, "validation must read headers only"
    assert [model_format(path) for path in seeds.values()] == ["gguf", "gguf", "safetensors", "safetensors", "ckpt"]


# -- truncated -------------------------------------------------------------------------------------


@pytest.mark.parametrize("cut", ["inside-header", "at-data", "one-byte-short"])
def test_truncated_synthetic_gguf_is_refused(sd15_model: Path, tmp_path: Path, cut: str) -> None:
    info = inspect_model(sd15_model)
    size = {"inside-header": 5000, "at-data": info.tensors[0].offset, "one-byte-short": info.file_size - 1}[cut]
    path = sparse_copy(sd15_model, tmp_path / "truncated.gguf", size)
    refused(path, "truncated")


@pytest.mark.parametrize("cut", ["length-only", "inside-header", "at-data", "one-byte-short"])
def test_truncated_synthetic_safetensors_is_refused(sd15_safetensors: Path, tmp_path: Path, cut: str) -> None:
    info = inspect_model(sd15_safetensors)
    size = {"length-only": 8, "inside-header": 5000, "at-data": info.tensors[0].offset,
            "one-byte-short": info.file_size - 1}[cut]
    path = sparse_copy(sd15_safetensors, tmp_path / "truncated.safetensors", size)
    refused(path, "truncated" if cut != "length-only" else "not a model file")


# -- header corruption -----------------------------------------------------------------------------


@pytest.mark.parametrize("field, value, message", [
    ("magic", b"GGUX", "not a GGUF file"),
    ("version", struct.pack("<I", 1), "unsupported GGUF version 1"),
    ("version", struct.pack("<I", 0x03000000), "unsupported GGUF version"),
    ("n_tensors", struct.pack("<q", 2**40), "tensors cannot fit in the file"),
    ("n_tensors", struct.pack("<q", -1), "tensors cannot fit in the file"),
    ("n_kv", struct.pack("<q", 2**33), "key/value pairs cannot fit"),
    ("n_dims", struct.pack("<I", 7), "has 7 dimensions"),
    ("dim0", struct.pack("<q", -4), "negative dimension"),
    ("dim0", struct.pack("<q", 2**40), "truncated"),
    ("type", struct.pack("<I", 4), "unknown ggml type 4"),
    ("type", struct.pack("<I", 99), "unknown ggml type 99"),
    ("type", struct.pack("<I", 28), "type f64, which the engine cannot load"),
    ("offset", struct.pack("<Q", 3), "has data offset 3, expected 0"),
])
def test_corrupt_synthetic_gguf_header_is_refused(sd15_model: Path, tmp_path: Path, field: str, value: bytes,
                                                  message: str) -> None:
    positions = {"magic": 0, "version": 4, **gguf_tensor0_fields(sd15_model)}
    path = patched(sd15_model, tmp_path / "corrupt.gguf", positions[field], value)
    refused(path, message)


def test_corrupt_gguf_metadata_is_refused(tmp_path: Path) -> None:
    # ggml reads general.alignment with an assertion on its type: a string there aborts the engine.
    cases: list[tuple[dict[str, Any], str]] = [
        ({"general.alignment": "32"}, "general.alignment has value type 8, not u32"),
        ({"general.alignment": [32]}, "general.alignment is an array"),
        ({"general.alignment": 24}, "alignment 24 is not a power of 2"),
    ]
    for metadata, message in cases:
        path = fuzz_loader.write_gguf(tmp_path / "meta.gguf", metadata=metadata)
        refused(path, message)
    path = fuzz_loader.write_gguf(tmp_path / "long.gguf", metadata={"ids": [1, 2]})
    refused(path, "the engine cannot read this combination")  # seed names are >= 64 bytes


def _edit_header(path: Path, edit: Callable[[dict[str, Any]], None]) -> Path:
    data = path.read_bytes()
    (size,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + size])
    edit(header)
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + data[8 + size:])
    return path


FIRST = fuzz_loader.SEED_TENSORS[0][0]
SECOND = fuzz_loader.SEED_TENSORS[1][0]


@pytest.mark.parametrize("edit, message", [
    (lambda h: h[FIRST].update(dtype="BOOL"), "dtype 'BOOL', which the engine cannot load"),
    (lambda h: h[FIRST].update(dtype=7), "has no dtype"),
    (lambda h: h[FIRST].pop("shape"), "has no valid shape"),
    (lambda h: h[FIRST].update(shape=[8, 4, 3, 4]), "needs 768 bytes, data_offsets give 576"),
    (lambda h: h[FIRST].update(shape=[1, 2, 3, 4, 5, 6]), "has 6 dimensions"),
    (lambda h: h[FIRST].update(shape=[0]), "is empty"),
    (lambda h: h[FIRST].update(data_offsets=["0", 576]), "has no valid data_offsets"),
    (lambda h: h[FIRST].update(data_offsets=[576, 0]), "has data_offsets [576, 0]"),
    (lambda h: h[FIRST].update(data_offsets=[2**40, 2**40 + 576]), "truncated"),
    (lambda h: h[SECOND].update(data_offsets=[0, 16]), "overlap"),
    (lambda h: h.update({FIRST: [1, 2]}), "is not an object"),
])
def test_corrupt_safetensors_header_is_refused(seeds: dict[str, Path], tmp_path: Path,
                                               edit: Callable[[dict[str, Any]], None], message: str) -> None:
    path = shutil.copyfile(seeds["seed.safetensors"], tmp_path / "corrupt.safetensors")
    refused(_edit_header(path, edit), message)


def test_unparsable_safetensors_header_is_refused(sd15_safetensors: Path, tmp_path: Path) -> None:
    path = patched(sd15_safetensors, tmp_path / "a.safetensors", 8 + 100, b"\xff\xfe")
    refused(path, "corrupt safetensors header")
    path = patched(sd15_safetensors, tmp_path / "b.safetensors", 8 + 1, b"}")
    refused(path, "corrupt safetensors header")
    duplicate = b'{"a.weight": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, ' \
                b'"a.weight": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}'
    path = tmp_path / "c.safetensors"
    path.write_bytes(struct.pack("<Q", len(duplicate)) + duplicate + bytes(8))
    refused(path, "duplicate key 'a.weight'")
    path = patched(sd15_safetensors, tmp_path / "d.safetensors", 0, struct.pack("<Q", 2**40))
    refused(path, "the header claims 1099511627776 bytes")


@pytest.mark.parametrize("name", ["sd15_model", "sd15_safetensors"])
def test_random_header_bit_flips_raise_model_load_error_or_pass(request: pytest.FixtureRequest, tmp_path: Path,
                                                                name: str) -> None:
    source: Path = request.getfixturevalue(name)
    header_end = min(t.offset for t in inspect_model(source).tensors)
    path = sparse_copy(source, tmp_path / f"flipped{source.suffix}")
    original = path.read_bytes()[:header_end]
    rng = random.Random(1)
    outcomes = {"refused": 0, "passed": 0}
    for _ in range(150):
        position = rng.randrange(header_end)
        with open(path, "r+b") as stream:
            stream.seek(position)
            stream.write(bytes([original[position] ^ (1 << rng.randrange(8))]))
        try:
            model_format(path)
            outcomes["passed"] += 1  # e.g. a flipped letter in a tensor name
        except ModelLoadError:
            outcomes["refused"] += 1
        with open(path, "r+b") as stream:
            stream.seek(position)
            stream.write(original[position:position + 1])
    assert outcomes["refused"] > 0 and sum(outcomes.values()) == 150


# -- wrong architecture, zero bytes, directories ---------------------------------------------------


FOREIGN_TENSORS = [("coefficients", (4, 8)), ("intercepts", (8,)), ("centroids", (16, 4))]


@pytest.mark.parametrize("writer", [fuzz_loader.write_gguf, fuzz_loader.write_safetensors, fuzz_loader.write_ckpt])
def test_file_of_no_known_model_is_refused_by_context_and_convert(tmp_path: Path,
                                                                  writer: Callable[..., Path]) -> None:
    suffix = {"write_gguf": ".gguf", "write_safetensors": ".safetensors", "write_ckpt": ".ckpt"}[writer.__name__]
    path = writer(tmp_path / f"foreign{suffix}", tensors=FOREIGN_TENSORS)
    for load in (lambda: sdcpp.Context(path, threads=1), lambda: sdcpp.convert(path, tmp_path / "out.gguf")):
        with pytest.raises(ModelLoadError, match="holds no tensor of a known model"):
            load()
    assert not (tmp_path / "out.gguf").exists()


def test_zero_byte_file_and_directory_are_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty.safetensors"
    empty.touch()
    refused(empty, "empty file (0 bytes)")
    refused(tmp_path, "is a directory")
    with pytest.raises(ModelLoadError, match="empty file"):
        sdcpp.Context(empty, threads=1)
    with pytest.raises((InvalidArgument, ModelLoadError), match="not a regular file|is a directory"):
        sdcpp.Context(tmp_path, threads=1)
    with pytest.raises((InvalidArgument, ModelLoadError), match="not a regular file|is a directory"):
        sdcpp.convert(tmp_path, tmp_path / "out.gguf")


def test_model_load_error_from_context_and_convert_for_damaged_files(sd15_model: Path, tmp_path: Path) -> None:
    truncated = sparse_copy(sd15_model, tmp_path / "truncated.gguf", inspect_model(sd15_model).file_size - 4096)
    with pytest.raises(ModelLoadError, match="truncated"):
        sdcpp.Context(truncated, threads=1)
    with pytest.raises(ModelLoadError, match="truncated"):
        sdcpp.Context(sd15_model, vae=truncated, threads=1)
    with pytest.raises(ModelLoadError, match="truncated"):
        sdcpp.convert(truncated, tmp_path / "out.gguf")


# -- checkpoints (pickle) --------------------------------------------------------------------------


class _RunsCommand:
    """Pickles as a call of os.system, the classic malicious checkpoint."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self) -> Any:
        return (os.system, (self.command,))


def test_small_checkpoint_converts(seeds: dict[str, Path], tmp_path: Path) -> None:
    out = sdcpp.convert(seeds["seed.ckpt"], tmp_path / "from-ckpt.gguf", type=None)
    names = {tensor.name for tensor in inspect_model(out).tensors}
    assert {name for name, _ in fuzz_loader.SEED_TENSORS} <= names


def test_checkpoint_that_would_run_code_is_refused_and_never_runs(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = fuzz_loader.write_ckpt(tmp_path / "evil.ckpt", extra=_RunsCommand(f"touch {marker}"))
    message = refused(path, "refused", "system")
    assert "Python's pickle would call it" in message
    with pytest.raises(ModelLoadError, match="refused"):
        sdcpp.Context(path, threads=1)
    with pytest.raises(ModelLoadError, match="refused"):
        sdcpp.convert(path, tmp_path / "out.gguf")
    # The engine's own pickle parser, fed the file directly, does not run it either.
    probe = fuzz_loader.EngineProbe(timeout=120)
    try:
        verdict, _ = probe.load(path)
    finally:
        probe.close()
    assert verdict in ("ok", "refused")
    assert not marker.exists()


def test_corrupt_checkpoints_are_refused(seeds: dict[str, Path], tmp_path: Path) -> None:
    data = seeds["seed.ckpt"].read_bytes()
    truncated = tmp_path / "truncated.ckpt"
    truncated.write_bytes(data[: len(data) // 2])
    refused(truncated, "not a readable zip archive")
    no_pickle = tmp_path / "nopickle.ckpt"
    import zipfile
    with zipfile.ZipFile(no_pickle, "w") as archive:
        archive.writestr("archive/other.bin", b"x")
    refused(no_pickle, "holds no data.pkl")
    bad_pickle = tmp_path / "badpickle.ckpt"
    with zipfile.ZipFile(bad_pickle, "w") as archive:
        archive.writestr("archive/data.pkl", b"\x80\x02}q\x00(X\x05\x00\x00")
    refused(bad_pickle, "is not a valid pickle")


# -- fuzzing ---------------------------------------------------------------------------------------


def test_short_fuzz_run_finds_no_crash(tmp_path: Path) -> None:
    stats = fuzz_loader.fuzz(seconds=20, out=tmp_path, seed=7, engine=True, timeout=60)
    assert stats["crashes"] == []
    assert stats["refused"] > 0 and stats["accepted"] > 0
    assert stats["engine_ok"] + stats["engine_refused"] == stats["accepted"]


def test_fuzz_script_runs_for_the_time_given(tmp_path: Path) -> None:
    started = time.monotonic()
    result = subprocess.run([sys.executable, str(REPO / "scripts" / "fuzz_loader.py"), "--seconds", "3",
                             "--no-engine", "--out", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    stats = json.loads(result.stdout)
    assert stats["tried"] > 10 and stats["crashes"] == []
    assert time.monotonic() - started < 60


def test_zip_entry_needing_an_unknown_zip_version_is_refused(seeds: dict[str, Path], tmp_path: Path) -> None:
    # Found by the atheris run of scripts/fuzz_loader.py: zipfile raised NotImplementedError
    # ("zip file version 23.5") straight through the validator.
    data = bytearray(seeds["seed.ckpt"].read_bytes())
    central = data.find(b"PK\x01\x02")
    assert central > 0
    data[central + 6:central + 8] = struct.pack("<H", 235)  # "version needed to extract"
    path = tmp_path / "odd-version.ckpt"
    path.write_bytes(bytes(data))
    with pytest.raises(sdcpp.ModelLoadError, match="zip"):
        inspect_model(path)
