"""Recognise model files by their first bytes, so a wrong file is refused before the engine sees it."""
from __future__ import annotations

import json
import struct
from pathlib import Path

from .errors import ModelLoadError

GGUF_MAGIC = b"GGUF"
ZIP_MAGIC = b"PK\x03\x04"
MAX_SAFETENSORS_HEADER = 100 * 1024 * 1024


def model_format(path: Path) -> str:
    """Return 'gguf', 'safetensors' or 'ckpt' for a model file, else raise ModelLoadError."""
    try:
        with open(path, "rb") as stream:
            head = stream.read(8)
            if head[:4] == GGUF_MAGIC:
                return "gguf"
            if head[:4] == ZIP_MAGIC:
                return "ckpt"
            if len(head) == 8:
                (header_size,) = struct.unpack("<Q", head)
                file_size = path.stat().st_size
                if 2 <= header_size <= min(MAX_SAFETENSORS_HEADER, file_size - 8):
                    header = stream.read(header_size)
                    if header[:1] == b"{":
                        try:
                            json.loads(header)
                        except (UnicodeDecodeError, ValueError) as error:
                            raise ModelLoadError(f"{path}: corrupt safetensors header ({error})") from None
                        return "safetensors"
    except OSError as error:
        raise ModelLoadError(f"{path}: cannot read the file ({error.strerror})") from None
    raise ModelLoadError(
        f"{path}: not a model file (expected GGUF, safetensors or a .ckpt checkpoint)"
    )
