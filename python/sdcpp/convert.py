"""Convert a model file (safetensors, .ckpt, GGUF) to GGUF, optionally quantizing it."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

from . import params as P
from ._callbacks import ActiveCall, active_call
from ._ffi import ffi, lib
from .errors import ConversionError, InvalidArgument
from .models import model_format


def convert(
    input_path: P.PathLike,
    output_path: P.PathLike,
    type: Optional[str] = "q8_0",
    *,
    vae: Optional[P.PathLike] = None,
    tensor_type_rules: Optional[str] = None,
    overwrite: bool = False,
    convert_name: bool = False,
) -> Path:
    """Write ``input_path`` as a GGUF file at ``output_path`` with weights of ``type``.

    Args:
        input_path: the model to convert (safetensors, .ckpt or GGUF).
        output_path: the GGUF file to write; written to a temporary name and renamed, so a
            failed conversion leaves nothing behind.
        type: the tensor type (``"f16"``, ``"q8_0"``, ``"q4_0"``, ...; see
            :func:`sdcpp.weight_types`); None keeps each tensor's type.
        vae: a separate VAE to bake into the output.
        tensor_type_rules: per-tensor overrides, e.g. ``"^vae\\.=f16"`` (sd-cli's --tensor-type-rules).
        overwrite: replace an existing output file.
        convert_name: rename tensors to the engine's internal names (sd-cli's --convert-name).

    Returns:
        The output path.
    """
    source = P.check_file("input_path", input_path)
    model_format(Path(os.fspath(input_path)))
    vae_path = P.check_file("vae", vae)
    if not isinstance(output_path, (str, os.PathLike)) or not os.fspath(output_path):
        raise InvalidArgument("output_path must be a path")
    target = Path(os.fspath(output_path))
    if not target.parent.is_dir():
        raise InvalidArgument(f"output_path: directory does not exist: {target.parent}")
    if target.exists() and not overwrite:
        raise InvalidArgument(f"output_path exists: {target} (pass overwrite=True to replace it)")
    if not isinstance(convert_name, bool):
        raise InvalidArgument("convert_name must be True or False")
    out_type = lib.SD_TYPE_COUNT if type is None else P.weight_type_value(type)
    # The engine builds a std::string from the rules: never pass NULL.
    rules = P.check_text("tensor_type_rules", tensor_type_rules or "")

    temporary = target.with_name(f".{target.stem}.{os.getpid()}.partial{target.suffix}")
    strings = P.CStrings()
    call = ActiveCall()
    try:
        with active_call(call):
            ok = lib.convert(source, strings(vae_path), os.fsencode(str(temporary)), out_type,
                             strings(rules), convert_name)
        if call.error is not None:
            raise call.error
        if not ok or not temporary.is_file():
            raise ConversionError(f"could not convert {os.fspath(input_path)}", call.engine_log)
        os.replace(temporary, target)
    finally:
        if temporary.exists():
            temporary.unlink()
    return target
