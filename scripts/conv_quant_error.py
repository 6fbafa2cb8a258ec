"""Per-tensor quantization error of a converted GGUF: conv kernels next to linear weights.

For every tensor that the GGUF holds in a quantized type, dequantize it and compare it with the
same tensor of the source checkpoint (a safetensors file, e.g. the synthetic f16 SD1.5 model):
relative RMS error ||dequantized - source|| / ||source||. Conv kernels (4D in the source, stored
flat [OC, IC*KH*KW] in the GGUF by patches/0003-quantized-conv2d.patch) are reported next to the
linear weights (2D in the source) of the same type, so one sees whether quantizing a conv costs
more than quantizing a linear layer.

    python scripts/conv_quant_error.py SOURCE.safetensors MODEL-q8_0.gguf [MODEL-q4_0.gguf ...]
        [--json results.json]

q8_0, q4_0, q4_1, q5_0 and q5_1 are dequantized here with numpy; other types need the ``gguf``
package (``pip install gguf``) and are skipped without it. Reads tensors through numpy memmaps,
one at a time.
"""
from __future__ import annotations

import argparse
import json
import struct
import sys
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "python"))
from sdcpp.model_check import inspect_model  # noqa: E402

BLOCK_BYTES = {"q8_0": 34, "q4_0": 18, "q4_1": 20, "q5_0": 22, "q5_1": 24}


def _halves(raw: np.ndarray, start: int) -> np.ndarray:
    return raw[:, start:start + 2].copy().view(np.float16).astype(np.float32)


def _dequant_q8_0(raw: np.ndarray) -> np.ndarray:
    d = _halves(raw, 0)
    q = raw[:, 2:34].view(np.int8).astype(np.float32)
    return q * d


def _nibbles(qs: np.ndarray) -> np.ndarray:
    return np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.int32)


def _dequant_q4_0(raw: np.ndarray) -> np.ndarray:
    return (_nibbles(raw[:, 2:18]) - 8).astype(np.float32) * _halves(raw, 0)


def _dequant_q4_1(raw: np.ndarray) -> np.ndarray:
    return _nibbles(raw[:, 4:20]).astype(np.float32) * _halves(raw, 0) + _halves(raw, 2)


def _fifth_bits(raw: np.ndarray, qh_at: int) -> np.ndarray:
    qh = raw[:, qh_at:qh_at + 4].copy().view(np.uint32)  # (blocks, 1)
    bits = (qh >> np.arange(32, dtype=np.uint32)) & 1  # element j's 5th bit is bit j
    return (bits << 4).astype(np.int32)


def _dequant_q5_0(raw: np.ndarray) -> np.ndarray:
    q = _nibbles(raw[:, 6:22]) | _fifth_bits(raw, 2)
    return (q - 16).astype(np.float32) * _halves(raw, 0)


def _dequant_q5_1(raw: np.ndarray) -> np.ndarray:
    q = _nibbles(raw[:, 8:24]) | _fifth_bits(raw, 4)
    return q.astype(np.float32) * _halves(raw, 0) + _halves(raw, 2)


DEQUANT: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "q8_0": _dequant_q8_0, "q4_0": _dequant_q4_0, "q4_1": _dequant_q4_1,
    "q5_0": _dequant_q5_0, "q5_1": _dequant_q5_1,
}


def _gguf_dequantizer(dtype: str) -> Optional[Callable[[np.ndarray, tuple[int, ...]], np.ndarray]]:
    try:
        from gguf import GGMLQuantizationType
        from gguf.quants import dequantize
    except ImportError:
        return None
    qtype = GGMLQuantizationType[dtype.upper()]
    return lambda raw, shape: np.asarray(dequantize(raw, qtype), dtype=np.float32).reshape(-1)


def dequantize(path: Path, dtype: str, offset: int, nbytes: int, shape: tuple[int, ...]) -> Optional[np.ndarray]:
    """The tensor's values as float32 in file order, or None where this type cannot be read here."""
    raw = np.memmap(path, dtype=np.uint8, mode="r", offset=offset, shape=(nbytes,))
    if dtype in DEQUANT:
        return DEQUANT[dtype](np.asarray(raw).reshape(-1, BLOCK_BYTES[dtype])).reshape(-1)
    fallback = _gguf_dequantizer(dtype)
    return None if fallback is None else fallback(np.asarray(raw), shape)


SAFETENSORS_NUMPY = {"F32": np.float32, "F16": np.float16, "F64": np.float64}


def read_safetensors_header(path: Path) -> tuple[int, dict[str, Any]]:
    with open(path, "rb") as stream:
        (length,) = struct.unpack("<Q", stream.read(8))
        header = json.loads(stream.read(length))
    return 8 + length, header


def source_values(path: Path, data_start: int, entry: dict[str, Any]) -> Optional[np.ndarray]:
    dtype = entry["dtype"]
    if dtype == "BF16":
        begin, end = entry["data_offsets"]
        raw = np.memmap(path, dtype=np.uint16, mode="r", offset=data_start + begin, shape=((end - begin) // 2,))
        return (raw.astype(np.uint32) << 16).view(np.float32)
    if dtype not in SAFETENSORS_NUMPY:
        return None
    begin, end = entry["data_offsets"]
    np_type = SAFETENSORS_NUMPY[dtype]
    count = (end - begin) // np.dtype(np_type).itemsize
    return np.memmap(path, dtype=np_type, mode="r", offset=data_start + begin, shape=(count,)).astype(np.float32)


def kind_of(source_shape: list[int]) -> str:
    if len(source_shape) == 4:
        return "conv 1x1" if source_shape[2] * source_shape[3] == 1 else "conv kxk"
    return "linear" if len(source_shape) == 2 else "other"


def measure(source: Path, model: Path) -> list[dict[str, Any]]:
    data_start, header = read_safetensors_header(source)
    rows = []
    for tensor in inspect_model(model).tensors:
        if tensor.dtype in ("f32", "f16", "bf16") or tensor.name not in header:
            continue
        entry = header[tensor.name]
        reference = source_values(source, data_start, entry)
        values = dequantize(model, tensor.dtype, tensor.offset, tensor.nbytes, tensor.shape)
        if reference is None or values is None or reference.size != values.size:
            continue
        norm = float(np.linalg.norm(reference))
        error = float(np.linalg.norm(values - reference)) / norm if norm > 0 else 0.0
        rows.append({"name": tensor.name, "type": tensor.dtype, "kind": kind_of(entry["shape"]),
                     "source_shape": entry["shape"], "gguf_shape": list(tensor.shape),
                     "relative_rms_error": error})
    return rows


def summarize(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    groups: dict[tuple[str, str], list[float]] = {}
    for row in rows:
        groups.setdefault((row["type"], row["kind"]), []).append(row["relative_rms_error"])
    summary = []
    for (qtype, kind), errors in sorted(groups.items()):
        values = np.asarray(errors)
        summary.append({"type": qtype, "kind": kind, "tensors": int(values.size),
                        "median": float(np.median(values)), "mean": float(values.mean()),
                        "max": float(values.max())})
    return summary


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path, help="the safetensors checkpoint the GGUFs were converted from")
    parser.add_argument("models", type=Path, nargs="+", help="converted GGUF files")
    parser.add_argument("--json", type=Path, help="also write every tensor's figure to this file")
    args = parser.parse_args(argv)
    everything: dict[str, Any] = {}
    print(f"{'file':<36} {'type':<6} {'kind':<9} {'tensors':>7} {'median':>9} {'mean':>9} {'max':>9}")
    for model in args.models:
        rows = measure(args.source, model)
        summary = summarize(rows)
        everything[model.name] = {"summary": summary, "tensors": rows}
        for line in summary:
            print(f"{model.name[-36:]:<36} {line['type']:<6} {line['kind']:<9} {line['tensors']:>7} "
                  f"{line['median']:>9.5f} {line['mean']:>9.5f} {line['max']:>9.5f}")
        if not rows:
            print(f"{model.name}: no quantized tensor of a type this script reads (pip install gguf for others)")
    if args.json:
        args.json.write_text(json.dumps(everything, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
