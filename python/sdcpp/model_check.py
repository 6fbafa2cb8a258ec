"""Structural validation of model files, done before the engine opens them.

The engine trusts the files it loads: a bad offset, an unknown type or a wrong JSON field in a
header can make it read past the end of the file, abort on an assertion or throw a C++
exception that ends the process. :func:`inspect_model` reads only the headers (the GGUF header
and tensor infos, the safetensors JSON header, the zip directory and the pickle of a ``.ckpt``),
never the tensor data, so it takes milliseconds on multi-gigabyte files, and raises
:class:`~sdcpp.errors.ModelLoadError` naming the first problem it finds.

What is checked, per format:

- GGUF: magic, version (2 or 3), tensor and key/value counts bounded by the file size, every
  key/value and tensor info parsed within the file, known value types, ``general.alignment`` a
  u32 power of two, unique tensor names (64 bytes or longer only where the engine's fallback
  reader can parse the metadata), at most 4 dimensions, known
  ggml types, rows a whole number of blocks, tensor data contiguous in the order of the infos
  (as ggml's own reader requires) and inside the file. A quantized conv kernel is stored flat,
  [OC, IC*KH*KW] (GGUF shape [IC*KH*KW, OC]), so its rows are checked like any matrix's; whether
  that shape fits the model's conv is the engine's shape check (a clear load error).
- safetensors: header length, a JSON object without duplicate keys, each tensor's dtype one
  the engine reads, a shape of at most 5 non-negative integers, ``data_offsets`` inside the data
  section, consistent with shape x dtype size, and not overlapping another tensor.
- ``.ckpt`` (a torch zip): a readable zip directory, entries inside the file, one ``data.pkl``
  that is a well-formed pickle whose globals are all on an allowlist of torch tensor-rebuild
  functions, storage classes and plain data containers. The engine parses that pickle itself and
  never runs Python code; the allowlist refuses files made to attack Python's ``pickle``.
- every format: at least one tensor, none of them empty, no ``*.weight`` matrix or kernel of an
  integer type, and at least one whose name belongs to a known model component (see
  :data:`KNOWN_NAME_MARKERS`).
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
import pickletools
import stat
import struct
import zipfile
import zlib
from pathlib import Path
from typing import IO, Any, Optional

from .errors import ModelLoadError

GGUF_MAGIC = b"GGUF"
ZIP_MAGIC = b"PK\x03\x04"
EMPTY_ZIP_MAGIC = b"PK\x05\x06"

MAX_SAFETENSORS_HEADER = 100 * 1024 * 1024
"""The largest safetensors JSON header accepted (the reference implementation's limit)."""

MAX_PICKLE_SIZE = 256 * 1024 * 1024
"""The largest ``data.pkl`` read from a checkpoint (real ones are under a few MB)."""

GGUF_MAX_STRING = 1024 * 1024 * 1024
GGUF_MAX_ARRAY = 1024 * 1024 * 1024
GGUF_DEFAULT_ALIGNMENT = 32
GGML_MAX_NAME = 64  # ggml refuses names of this length or more (the engine then uses its own GGUFReader)
GGUF_READER_MAX_KEY = 4096
GGML_MAX_DIMS = 4
SAFETENSORS_MAX_DIMS = 5  # the engine folds a 5th dimension into the first

# ggml_type -> (name, bytes per block, elements per block), as ggml_type_size/ggml_blck_size
# report them for this engine; the removed types (4, 5, 31-33, 36-38) are missing on purpose.
GGML_TYPES: dict[int, tuple[str, int, int]] = {
    0: ("f32", 4, 1), 1: ("f16", 2, 1), 2: ("q4_0", 18, 32), 3: ("q4_1", 20, 32),
    6: ("q5_0", 22, 32), 7: ("q5_1", 24, 32), 8: ("q8_0", 34, 32), 9: ("q8_1", 36, 32),
    10: ("q2_K", 84, 256), 11: ("q3_K", 110, 256), 12: ("q4_K", 144, 256), 13: ("q5_K", 176, 256),
    14: ("q6_K", 210, 256), 15: ("q8_K", 292, 256), 16: ("iq2_xxs", 66, 256), 17: ("iq2_xs", 74, 256),
    18: ("iq3_xxs", 98, 256), 19: ("iq1_s", 50, 256), 20: ("iq4_nl", 18, 32), 21: ("iq3_s", 110, 256),
    22: ("iq2_s", 82, 256), 23: ("iq4_xs", 136, 256), 24: ("i8", 1, 1), 25: ("i16", 2, 1),
    26: ("i32", 4, 1), 27: ("i64", 8, 1), 28: ("f64", 8, 1), 29: ("iq1_m", 56, 256),
    30: ("bf16", 2, 1), 34: ("tq1_0", 54, 256), 35: ("tq2_0", 66, 256), 39: ("mxfp4", 17, 32),
    40: ("nvfp4", 36, 64),
}

# The engine converts a tensor whose type differs from the one the model needs through ggml's
# to_float; the integer and f64 types have none and the engine would throw inside a loader
# thread (which ends the process), so GGUF tensors of these types are refused.
GGUF_UNLOADABLE_TYPES = frozenset({24, 25, 27, 28})

# Types a weight matrix or conv kernel may not have: the engine runs them through ggml_mul_mat or
# converts them with to_float, and an integer type has neither (ggml aborts, or the loader throws
# inside a thread, which ends the process).
INTEGER_TYPES = frozenset({"i8", "i16", "i32", "i64", "I8", "I16", "I32", "I64"})


def _check_weight_type(name: str, type_name: str, n_dims: int) -> None:
    """A ``*.weight`` tensor of 2 or more dimensions (a linear weight, a conv kernel in 4D or in
    the flat [OC, IC*KH*KW] layout quantized convs use) must be a float or quantized type."""
    if n_dims >= 2 and name.endswith(".weight") and type_name in INTEGER_TYPES:
        raise _Malformed(f"tensor {name!r} is a weight matrix of integer type {type_name}; "
                         "weights must be a float or quantized type")


# GGUF metadata value types -> size of one value (None: a length-prefixed string; 9 is ARRAY).
_GGUF_VALUE_SIZES: dict[int, Optional[int]] = {
    0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 8: None, 10: 8, 11: 8, 12: 8,
}
_GGUF_ARRAY = 9
_GGUF_UINT32 = 4

# safetensors dtype -> bytes per element, for the dtypes the engine reads (it skips U8 tensors).
SAFETENSORS_DTYPES: dict[str, int] = {
    "F64": 8, "F32": 4, "F16": 2, "BF16": 2, "F8_E4M3": 1, "F8_E5M2": 1, "I64": 8, "I32": 4, "U8": 1,
}

PICKLE_ALLOWED_GLOBALS = frozenset({
    # what the engine's pickle parser understands (src/model_io/pickle_io.cpp)
    "collections.OrderedDict",
    "torch._utils._rebuild_tensor",
    "torch._utils._rebuild_tensor_v2",
    "torch.FloatStorage", "torch.DoubleStorage", "torch.HalfStorage", "torch.BFloat16Storage",
    "torch.IntStorage", "torch.LongStorage",
    # data-only objects found in released checkpoints; the engine reads their REDUCE as None
    "torch._utils._rebuild_parameter",
    "torch.ByteStorage", "torch.CharStorage", "torch.ShortStorage", "torch.BoolStorage",
    "numpy.core.multiarray.scalar", "numpy.dtype", "_codecs.encode",
    "pytorch_lightning.callbacks.model_checkpoint.ModelCheckpoint",
})
"""Globals a checkpoint's pickle may name; any other one makes the file refused."""

KNOWN_NAME_MARKERS = (
    "diffusion_model", "first_stage_model", "cond_stage_model", "conditioner", "text_encoder",
    "text_model", "transformer", "unet", "vae", "lora", "clip", "t5", "encoder.", "decoder.",
    "model.", "blocks.", "layers.", "layer.", "emb", "attn", "attention", "mlp", "norm", "conv",
    "proj", "te.", "shared.", "quant",
)
"""Substrings of tensor names used by the model components the engine loads (U-Nets and DiTs,
VAEs, text encoders, LoRAs, upscalers); a file none of whose tensors matches is refused."""


@dataclasses.dataclass(frozen=True)
class TensorInfo:
    """One tensor of a model file as its header describes it.

    ``offset`` is the absolute position of its data in the file (for a ``.ckpt``: inside its
    storage entry), ``nbytes`` the size of that data.
    """

    name: str
    dtype: str
    shape: tuple[int, ...]
    offset: int
    nbytes: int


@dataclasses.dataclass(frozen=True)
class ModelFileInfo:
    """What :func:`inspect_model` learnt from a model file's headers."""

    format: str
    tensors: tuple[TensorInfo, ...]
    file_size: int


def inspect_model(path: Path) -> ModelFileInfo:
    """Validate the structure of a GGUF, safetensors or ``.ckpt`` file without reading its data.

    Raises:
        ModelLoadError: the file is missing, unreadable, not a model file, or malformed; the
            message names the file and the problem.
    """
    try:
        info = os.stat(path)
    except OSError as error:
        raise ModelLoadError(f"{path}: cannot read the file ({error.strerror})") from None
    if stat.S_ISDIR(info.st_mode):
        raise ModelLoadError(f"{path}: is a directory, not a model file")
    if not stat.S_ISREG(info.st_mode):
        raise ModelLoadError(f"{path}: not a regular file")
    size = info.st_size
    if size == 0:
        raise ModelLoadError(f"{path}: empty file (0 bytes), not a model file")
    try:
        with open(path, "rb") as stream:
            head = stream.read(8)
            stream.seek(0)
            if head[:4] == GGUF_MAGIC:
                result = ModelFileInfo("gguf", _check_gguf(stream, size), size)
            elif head[:4] in (ZIP_MAGIC, EMPTY_ZIP_MAGIC):
                result = ModelFileInfo("ckpt", _check_ckpt(stream, size), size)
            elif _looks_like_safetensors(head, size) and path.suffix.lower() != ".gguf":
                result = ModelFileInfo("safetensors", _check_safetensors(stream, size), size)
            elif path.suffix.lower() == ".gguf":
                raise _Malformed(f"not a GGUF file: it starts with {head[:4]!r}, not b'GGUF'")
            else:
                raise _Malformed("not a model file (expected GGUF, safetensors or a .ckpt checkpoint)")
        _check_tensor_names(result.tensors)
    except _Malformed as error:
        raise ModelLoadError(f"{path}: {error}") from None
    except OSError as error:
        raise ModelLoadError(f"{path}: cannot read the file ({error.strerror or error})") from None
    return result


class _Malformed(Exception):
    """A structural problem; turned into ModelLoadError with the path in front."""


def _check_tensor_names(tensors: tuple[TensorInfo, ...]) -> None:
    if not tensors:
        raise _Malformed("holds no tensors")
    for tensor in tensors:
        lowered = tensor.name.lower()
        if any(marker in lowered for marker in KNOWN_NAME_MARKERS):
            return
    examples = ", ".join(repr(tensor.name) for tensor in tensors[:3])
    raise _Malformed(
        f"holds no tensor of a known model ({len(tensors)} tensors named like {examples}); "
        "expected Stable Diffusion weights (U-Net or DiT, VAE, text encoders, LoRA)"
    )


# -- GGUF ------------------------------------------------------------------------------------------


class _Reader:
    """Sequential little-endian reads from a file, never past its end, buffered in 1 MiB chunks."""

    CHUNK = 1 << 20

    def __init__(self, stream: IO[bytes], size: int) -> None:
        self.stream = stream
        self.size = size
        self.buffer = b""
        self.buffer_start = 0
        self.pos = 0

    def remaining(self) -> int:
        return self.size - self.pos

    def read(self, count: int, what: str) -> bytes:
        if count > self.remaining():
            raise _Malformed(f"truncated: {what} at offset {self.pos} needs {count} bytes, "
                             f"the file ends after {self.remaining()}")
        start = self.pos - self.buffer_start
        if start + count > len(self.buffer):
            self.stream.seek(self.pos)
            self.buffer = self.stream.read(max(count, self.CHUNK))
            self.buffer_start = self.pos
            start = 0
            if len(self.buffer) < count:
                raise _Malformed(f"truncated: {what} at offset {self.pos} (the file shrank while read)")
        self.pos += count
        return self.buffer[start:start + count]

    def unpack(self, fmt: str, what: str) -> Any:
        data = self.read(struct.calcsize(fmt), what)
        return struct.unpack(fmt, data)[0]

    def string(self, what: str) -> bytes:
        length = self.unpack("<Q", f"length of {what}")
        if length > GGUF_MAX_STRING:
            raise _Malformed(f"{what} at offset {self.pos - 8} claims {length} bytes")
        return self.read(length, what)


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")


def _check_gguf(stream: IO[bytes], size: int) -> tuple[TensorInfo, ...]:
    reader = _Reader(stream, size)
    reader.read(4, "magic")
    version = reader.unpack("<I", "GGUF version")
    if version not in (2, 3):
        raise _Malformed(f"unsupported GGUF version {version} (the engine reads versions 2 and 3)")
    n_tensors = reader.unpack("<q", "tensor count")
    n_kv = reader.unpack("<q", "key/value count")
    # A key/value pair takes at least 13 bytes, a tensor info at least 24.
    if n_kv < 0 or n_kv * 13 > reader.remaining():
        raise _Malformed(f"corrupt GGUF header: {n_kv} key/value pairs cannot fit in the file")
    if n_tensors < 0 or n_tensors * 24 > reader.remaining():
        raise _Malformed(f"corrupt GGUF header: {n_tensors} tensors cannot fit in the file")

    alignment = GGUF_DEFAULT_ALIGNMENT
    keys: set[bytes] = set()
    longest_key = 0
    has_arrays = False
    for index in range(n_kv):
        key = reader.string(f"key {index}")
        longest_key = max(longest_key, len(key))
        if key in keys:
            raise _Malformed(f"corrupt GGUF metadata: duplicate key {_text(key)!r}")
        keys.add(key)
        value_type = reader.unpack("<I", f"type of key {_text(key)!r}")
        if value_type == _GGUF_ARRAY:
            element_type = reader.unpack("<I", f"element type of key {_text(key)!r}")
            count = reader.unpack("<Q", f"length of key {_text(key)!r}")
            has_arrays = has_arrays or count > 0
            _skip_gguf_values(reader, key, element_type, count)
            if key == b"general.alignment":
                raise _Malformed("corrupt GGUF metadata: general.alignment is an array, not a u32")
        else:
            if key == b"general.alignment":
                if value_type != _GGUF_UINT32:
                    raise _Malformed(f"corrupt GGUF metadata: general.alignment has value type {value_type}, not u32")
                alignment = reader.unpack("<I", "general.alignment")
                if alignment == 0 or alignment & (alignment - 1):
                    raise _Malformed(f"corrupt GGUF metadata: alignment {alignment} is not a power of 2")
            else:
                _skip_gguf_values(reader, key, value_type, 1)

    infos: list[tuple[str, int, tuple[int, ...], int, int]] = []
    names: set[bytes] = set()
    for index in range(n_tensors):
        raw_name = reader.string(f"name of tensor {index}")
        name = _text(raw_name)
        if len(raw_name) >= GGML_MAX_NAME and (longest_key > GGUF_READER_MAX_KEY or has_arrays):
            # ggml refuses such names; the engine then reads the file with its own GGUFReader,
            # which takes array values for key/value pairs and keys of at most 4096 bytes.
            raise _Malformed(f"tensor name {name[:80]!r} is {len(raw_name)} bytes long and the metadata holds "
                             "arrays or long keys: the engine cannot read this combination")
        if raw_name in names:
            raise _Malformed(f"duplicate tensor name {name!r}")
        names.add(raw_name)
        n_dims = reader.unpack("<I", f"dimensions of tensor {name!r}")
        if n_dims > GGML_MAX_DIMS:
            raise _Malformed(f"tensor {name!r} has {n_dims} dimensions (at most {GGML_MAX_DIMS})")
        shape = tuple(reader.unpack("<q", f"shape of tensor {name!r}") for _ in range(n_dims))
        type_id = reader.unpack("<I", f"type of tensor {name!r}")
        offset = reader.unpack("<Q", f"data offset of tensor {name!r}")
        if any(dim < 0 for dim in shape):
            raise _Malformed(f"tensor {name!r} has a negative dimension {list(shape)}")
        if type_id not in GGML_TYPES:
            raise _Malformed(f"tensor {name!r} has unknown ggml type {type_id}")
        type_name, type_size, block_size = GGML_TYPES[type_id]
        if type_id in GGUF_UNLOADABLE_TYPES:
            raise _Malformed(f"tensor {name!r} has type {type_name}, which the engine cannot load")
        elements = math.prod(shape)
        if elements == 0:
            raise _Malformed(f"tensor {name!r} is empty (shape {list(shape)})")
        if elements >= 2**63:
            raise _Malformed(f"tensor {name!r} has too many elements (shape {list(shape)})")
        _check_weight_type(name, type_name, len(shape))
        row = shape[0] if shape else 1
        if row % block_size:
            raise _Malformed(f"tensor {name!r} of type {type_name} has rows of {row} elements, "
                             f"not a multiple of its block size {block_size}")
        infos.append((name, type_id, shape, offset, elements // block_size * type_size))

    data_start = -(-reader.pos // alignment) * alignment
    expected = 0
    tensors = []
    for name, type_id, shape, offset, nbytes in infos:
        if offset != expected:
            raise _Malformed(f"tensor {name!r} has data offset {offset}, expected {expected} "
                             "(tensor data must follow the header contiguously and aligned)")
        end = data_start + offset + nbytes
        if end > size:
            raise _Malformed(f"truncated: tensor {name!r} needs bytes {data_start + offset}..{end} "
                             f"but the file has {size} bytes")
        tensors.append(TensorInfo(name, GGML_TYPES[type_id][0], shape, data_start + offset, nbytes))
        expected = offset + -(-nbytes // alignment) * alignment
    return tuple(tensors)


def _skip_gguf_values(reader: _Reader, key: bytes, value_type: int, count: int) -> None:
    if value_type not in _GGUF_VALUE_SIZES:
        raise _Malformed(f"corrupt GGUF metadata: key {_text(key)!r} has unknown value type {value_type}")
    if count > GGUF_MAX_ARRAY:
        raise _Malformed(f"corrupt GGUF metadata: key {_text(key)!r} claims {count} values")
    item_size = _GGUF_VALUE_SIZES[value_type]
    if item_size is not None:
        reader.read(item_size * count, f"value of key {_text(key)!r}")
        return
    if count * 8 > reader.remaining():
        raise _Malformed(f"truncated: key {_text(key)!r} claims {count} strings")
    for _ in range(count):
        reader.string(f"value of key {_text(key)!r}")


# -- safetensors -------------------------------------------------------------------------------------


def _looks_like_safetensors(head: bytes, size: int) -> bool:
    """An 8-byte little-endian length followed by what may be a JSON object."""
    if len(head) < 8:
        return False
    (header_size,) = struct.unpack("<Q", head)
    return 0 < header_size < 2**62 and size > 8


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _Malformed(f"corrupt safetensors header: duplicate key {key!r}")
        result[key] = value
    return result


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_safetensors(stream: IO[bytes], size: int) -> tuple[TensorInfo, ...]:
    (header_size,) = struct.unpack("<Q", stream.read(8))
    if header_size > size - 8:
        raise _Malformed(f"truncated or corrupt safetensors file: the header claims {header_size} bytes, "
                         f"the file has {size - 8} after the length")
    if header_size > MAX_SAFETENSORS_HEADER:
        raise _Malformed(f"corrupt safetensors header: {header_size} bytes (at most {MAX_SAFETENSORS_HEADER})")
    raw = stream.read(header_size)
    if len(raw) != header_size:
        raise _Malformed("truncated safetensors header")
    if raw[:1] != b"{":
        raise _Malformed("not a model file (expected GGUF, safetensors or a .ckpt checkpoint)")
    try:
        header = json.loads(raw.decode("utf-8"), object_pairs_hook=_reject_duplicates)
    except (UnicodeDecodeError, ValueError) as error:
        raise _Malformed(f"corrupt safetensors header ({error})") from None
    if not isinstance(header, dict):
        raise _Malformed("corrupt safetensors header: not a JSON object")

    data_start = 8 + header_size
    data_size = size - data_start
    tensors = []
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        if not isinstance(entry, dict):
            raise _Malformed(f"corrupt safetensors header: entry {name!r} is not an object")
        dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
        if not isinstance(dtype, str):
            raise _Malformed(f"corrupt safetensors header: tensor {name!r} has no dtype")
        if dtype not in SAFETENSORS_DTYPES:
            raise _Malformed(f"tensor {name!r} has dtype {dtype[:20]!r}, which the engine cannot load "
                             f"(it reads {', '.join(SAFETENSORS_DTYPES)})")
        if not isinstance(shape, list) or not all(_is_int(dim) for dim in shape):
            raise _Malformed(f"corrupt safetensors header: tensor {name!r} has no valid shape")
        if len(shape) > SAFETENSORS_MAX_DIMS:
            raise _Malformed(f"tensor {name!r} has {len(shape)} dimensions (at most {SAFETENSORS_MAX_DIMS})")
        if any(dim < 0 for dim in shape):
            raise _Malformed(f"tensor {name!r} has a negative dimension {shape}")
        if (not isinstance(offsets, list) or len(offsets) != 2 or not all(_is_int(x) for x in offsets)):
            raise _Malformed(f"corrupt safetensors header: tensor {name!r} has no valid data_offsets")
        begin, end = offsets
        if not 0 <= begin <= end:
            raise _Malformed(f"corrupt safetensors header: tensor {name!r} has data_offsets {offsets}")
        if end > data_size:
            raise _Malformed(f"truncated: tensor {name!r} ends at byte {data_start + end} "
                             f"but the file has {size} bytes")
        _check_weight_type(name, dtype, len(shape))
        elements = math.prod(shape)
        if elements == 0:
            raise _Malformed(f"tensor {name!r} is empty (shape {shape})")
        if elements * SAFETENSORS_DTYPES[dtype] != end - begin:
            raise _Malformed(f"tensor {name!r}: shape {shape} of {dtype} needs "
                             f"{elements * SAFETENSORS_DTYPES[dtype]} bytes, data_offsets give {end - begin}")
        tensors.append(TensorInfo(name, dtype, tuple(shape), data_start + begin, end - begin))

    previous: Optional[TensorInfo] = None
    for tensor in sorted(tensors, key=lambda t: t.offset):
        if previous is not None and tensor.offset < previous.offset + previous.nbytes:
            raise _Malformed(f"corrupt safetensors header: tensors {previous.name!r} and {tensor.name!r} overlap")
        previous = tensor
    return tuple(tensors)


# -- .ckpt (torch zip) -------------------------------------------------------------------------------


def _check_ckpt(stream: IO[bytes], size: int) -> tuple[TensorInfo, ...]:
    try:
        archive = zipfile.ZipFile(stream)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, struct.error,
            NotImplementedError) as error:
        raise _Malformed(f"corrupt .ckpt file: not a readable zip archive ({error})") from None
    with archive:
        entries = archive.infolist()
        for entry in entries:
            if entry.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise _Malformed(f"corrupt .ckpt file: entry {entry.filename!r} uses an unsupported compression")
            if entry.header_offset + 30 + entry.compress_size > size:
                raise _Malformed(f"truncated .ckpt file: entry {entry.filename!r} ends past the end of the file")
        pickles = [entry for entry in entries if "data.pkl" in entry.filename]
        if not pickles:
            raise _Malformed("not a torch checkpoint: the zip archive holds no data.pkl")
        tensors: list[TensorInfo] = []
        for entry in pickles:
            if entry.file_size > MAX_PICKLE_SIZE:
                raise _Malformed(f"{entry.filename} is {entry.file_size} bytes (at most {MAX_PICKLE_SIZE})")
            try:
                data = archive.read(entry)
            except (zipfile.BadZipFile, ValueError, EOFError, OSError, struct.error, RuntimeError,
                    NotImplementedError, zlib.error) as error:
                # NotImplementedError: a "version needed to extract" zipfile does not support
                # (found by the atheris run of scripts/fuzz_loader.py).
                raise _Malformed(f"corrupt .ckpt file: cannot read {entry.filename} ({error})") from None
            tensors.extend(_scan_pickle(data, entry.filename))
    return tuple(tensors)


def _scan_pickle(data: bytes, where: str) -> list[TensorInfo]:
    """Walk the pickle's opcodes (never executing it) and refuse globals outside the allowlist.

    Returns one TensorInfo (name, storage type, shape) per tensor stored under a string key, as
    far as they can be read without running the pickle; offsets and sizes are left to the engine.
    """
    stack: list[Any] = []
    memo: dict[int, Any] = {}
    marks: list[int] = []
    tensors: list[TensorInfo] = []
    stopped = False
    try:
        for opcode, argument, position in pickletools.genops(data):
            name = opcode.name
            if name in ("GLOBAL", "INST"):
                module, _, attribute = str(argument).partition(" ")
                _check_global(f"{module}.{attribute}", where, position)
            elif name == "STACK_GLOBAL":
                if len(stack) < 2 or not isinstance(stack[-1], str) or not isinstance(stack[-2], str):
                    raise _Malformed(f"{where}: STACK_GLOBAL at byte {position} with a computed name")
                _check_global(f"{stack[-2]}.{stack[-1]}", where, position)
            elif name in ("EXT1", "EXT2", "EXT4"):
                raise _Malformed(f"{where}: refused: extension-registry global at byte {position}")
            elif name == "STOP":
                stopped = True
                break
            _apply_stack_effect(opcode, argument, stack, memo, marks)
    except (ValueError, IndexError, KeyError, struct.error) as error:
        raise _Malformed(f"corrupt .ckpt file: {where} is not a valid pickle ({error})") from None
    if not stopped:
        raise _Malformed(f"corrupt .ckpt file: {where} is not a valid pickle (no STOP opcode)")
    for value in stack:
        _collect_tensor_names(value, tensors)
    return tensors


def _check_global(qualified: str, where: str, position: Optional[int]) -> None:
    if qualified not in PICKLE_ALLOWED_GLOBALS:
        raise _Malformed(
            f"{where}: refused: the pickle references {qualified!r} at byte {position}, which is not a "
            "tensor, storage or plain data type (Python's pickle would call it on load)"
        )


class _Tensor:
    """Marker for the result of a tensor-rebuild REDUCE."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.shape = shape


_STRING_OPS = frozenset({"STRING", "BINSTRING", "SHORT_BINSTRING", "UNICODE", "BINUNICODE",
                         "SHORT_BINUNICODE", "BINUNICODE8"})
_INT_OPS = frozenset({"INT", "BININT", "BININT1", "BININT2", "LONG", "LONG1", "LONG4"})


def _apply_stack_effect(opcode: pickletools.OpcodeInfo, argument: Any, stack: list[Any],
                        memo: dict[int, Any], marks: list[int]) -> None:
    """Track the pickle machine's stack symbolically: strings, ints, tuples, dicts, globals."""
    name = opcode.name
    if name == "MARK":
        marks.append(len(stack))
        return
    if name in ("BINPUT", "LONG_BINPUT", "PUT"):
        if stack:
            memo[int(argument)] = stack[-1]
        return
    if name == "MEMOIZE":
        if stack:
            memo[len(memo)] = stack[-1]
        return
    if name in ("BINGET", "LONG_BINGET", "GET"):
        stack.append(memo.get(int(argument)))
        return
    if name in _STRING_OPS:
        stack.append(str(argument))
        return
    if name in _INT_OPS:
        stack.append(int(argument))
        return
    if name in ("GLOBAL", "STACK_GLOBAL"):
        if name == "STACK_GLOBAL":
            attribute, module = stack.pop(), stack.pop()
            stack.append(("global", f"{module}.{attribute}"))
        else:
            module, _, attribute = str(argument).partition(" ")
            stack.append(("global", f"{module}.{attribute}"))
        return
    if name == "EMPTY_DICT":
        stack.append({})
        return
    if name == "TUPLE":
        start = marks.pop() if marks else 0
        items = tuple(stack[start:])
        del stack[start:]
        stack.append(items)
        return
    if name in ("TUPLE1", "TUPLE2", "TUPLE3"):
        count = {"TUPLE1": 1, "TUPLE2": 2, "TUPLE3": 3}[name]
        items = tuple(stack[-count:]) if len(stack) >= count else ()
        del stack[-count:]
        stack.append(items)
        return
    if name == "EMPTY_TUPLE":
        stack.append(())
        return
    if name == "REDUCE":
        args = stack.pop() if stack else None
        callable_ = stack.pop() if stack else None
        if (isinstance(callable_, tuple) and callable_[:1] == ("global",)
                and callable_[1].startswith("torch._utils._rebuild_tensor")
                and isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], tuple)):
            stack.append(_Tensor(tuple(x if isinstance(x, int) else -1 for x in args[2])))
        elif isinstance(callable_, tuple) and callable_[1:] == ("collections.OrderedDict",):
            stack.append({})
        else:
            stack.append(None)
        return
    if name == "SETITEM":
        value = stack.pop() if stack else None
        key = stack.pop() if stack else None
        if stack and isinstance(stack[-1], dict):
            _set_item(stack[-1], key, value)
        return
    if name == "SETITEMS":
        start = marks.pop() if marks else 0
        pairs = stack[start:]
        del stack[start:]
        if stack and isinstance(stack[-1], dict):
            for index in range(0, len(pairs) - 1, 2):
                _set_item(stack[-1], pairs[index], pairs[index + 1])
        return
    # Everything else: apply the opcode's declared stack effect with opaque values.
    before = opcode.stack_before
    if pickletools.markobject in before:
        start = marks.pop() if marks else 0
        del stack[start:]
        count = before.index(pickletools.markobject)
    else:
        count = len(before)
    if count:
        del stack[-count:]
    stack.extend(None for _ in opcode.stack_after)


def _set_item(target: dict[Any, Any], key: Any, value: Any) -> None:
    if isinstance(key, (str, int)) and len(target) < 1_000_000:
        target[key] = value


def _collect_tensor_names(value: Any, tensors: list[TensorInfo], depth: int = 0) -> None:
    if not isinstance(value, dict) or depth > 8:
        return
    for key, item in value.items():
        if isinstance(key, str) and isinstance(item, _Tensor):
            tensors.append(TensorInfo(key, "torch", item.shape, 0, 0))
        elif isinstance(item, dict):
            _collect_tensor_names(item, tensors, depth + 1)
