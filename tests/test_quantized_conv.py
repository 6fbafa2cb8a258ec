"""Quantized convolutions (patches/0003-quantized-conv2d.patch).

``convert`` to a quantized type stores a conv kernel [OC, IC, KH, KW] flat as [OC, IC*KH*KW] (the
same bytes; GGUF/ggml shape [IC*KH*KW, OC]) and quantizes it when IC*KH*KW is a multiple of the
type's block size; the engine runs such a kernel as im2col + a quantized matrix product. These
tests check what a user sees: which tensors are quantized, that the values survive, that the
files shrink, that tensor_type_rules still decide, that old layouts keep loading, that a broken
flat kernel is refused with a clear error, that LoRAs still apply, and (through the engine's C++
test binary) that a quantized conv equals a reference conv with the dequantized kernel.
"""
from __future__ import annotations

import math
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import sdcpp
from sdcpp.errors import ModelLoadError
from sdcpp.model_check import inspect_model
from sdcpp.testing.synthetic import TensorSpec, write_safetensors

from conftest import CACHE_DIR, FAST

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))
import conv_quant_error  # noqa: E402
from engine_binaries import cpp_test_binary

UNET = "model.diffusion_model."
# (name, PyTorch shape): conv kernels of every kind the models hold, a linear weight, biases
TINY_LAYOUT = [
    TensorSpec(UNET + "input_blocks.0.0.weight", (64, 4, 3, 3), "weight"),           # K = 36: stays f16
    TensorSpec(UNET + "input_blocks.0.0.bias", (64,), "bias"),
    TensorSpec(UNET + "input_blocks.1.0.in_layers.2.weight", (64, 64, 3, 3), "weight"),  # K = 576
    TensorSpec(UNET + "input_blocks.1.0.in_layers.2.bias", (64,), "bias"),
    TensorSpec(UNET + "input_blocks.1.1.proj_in.weight", (64, 64, 1, 1), "weight"),   # 1x1, K = 64
    TensorSpec(UNET + "input_blocks.1.1.transformer_blocks.0.attn1.to_q.weight", (64, 64), "weight"),
    TensorSpec(UNET + "middle_block.0.in_layers.2.weight", (32, 256, 3, 3), "weight"),  # K = 2304
    TensorSpec("first_stage_model.decoder.conv_out.weight", (3, 128, 3, 3), "weight"),  # K = 1152
    TensorSpec("first_stage_model.decoder.conv_out.bias", (3,), "bias"),
]


def _shapes(path: Path) -> dict[str, tuple[str, tuple[int, ...]]]:
    """name -> (type, GGUF shape in ggml order) of every tensor of a GGUF file."""
    return {tensor.name: (tensor.dtype, tensor.shape) for tensor in inspect_model(path).tensors}


def _flat(torch_shape: tuple[int, ...]) -> tuple[int, int]:
    out_channels, *rest = torch_shape
    return (math.prod(rest), out_channels)


def _ggml(torch_shape: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(reversed(torch_shape))


@pytest.fixture(scope="module")
def tiny_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_safetensors(tmp_path_factory.mktemp("qconv") / "tiny.safetensors", TINY_LAYOUT, seed=3, dtype="f16")


@pytest.mark.parametrize("quant, block", [("q8_0", 32), ("q4_0", 32), ("q4_K", 256)])
def test_convert_quantizes_conv_kernels_whose_rows_fit_the_blocks(tiny_source: Path, tmp_path: Path,
                                                                  quant: str, block: int) -> None:
    out = sdcpp.convert(tiny_source, tmp_path / f"tiny-{quant}.gguf", type=quant)
    shapes = _shapes(out)
    for spec in TINY_LAYOUT:
        dtype, shape = shapes[spec.name]
        if spec.name.endswith(".bias"):
            assert dtype == "f32" or dtype == "f16", spec.name
        elif len(spec.shape) == 4 and math.prod(spec.shape[1:]) % block == 0:
            assert (dtype, shape) == (quant, _flat(spec.shape)), spec.name
        elif len(spec.shape) == 4:
            assert (dtype, shape) == ("f16", _ggml(spec.shape)), spec.name   # kept as it was
        elif spec.shape[1] % block == 0:
            assert (dtype, shape) == (quant, _ggml(spec.shape)), spec.name
        else:
            assert dtype == "f16", spec.name


def test_flat_kernel_holds_the_conv_weights_row_per_output_channel(tiny_source: Path, tmp_path: Path) -> None:
    out = sdcpp.convert(tiny_source, tmp_path / "tiny-q8_0.gguf", type="q8_0")
    data_start, header = conv_quant_error.read_safetensors_header(tiny_source)
    checked = 0
    for tensor in inspect_model(out).tensors:
        if tensor.dtype != "q8_0" or len(header[tensor.name]["shape"]) != 4:
            continue
        source = conv_quant_error.source_values(tiny_source, data_start, header[tensor.name])
        values = conv_quant_error.dequantize(out, tensor.dtype, tensor.offset, tensor.nbytes, tensor.shape)
        assert source is not None and values is not None
        error = np.linalg.norm(values - source) / np.linalg.norm(source)
        assert error < 0.01, f"{tensor.name}: relative RMS error {error:.4f}"
        checked += 1
    assert checked == 4


def test_f16_conversion_keeps_4d_kernels(tiny_source: Path, tmp_path: Path) -> None:
    shapes = _shapes(sdcpp.convert(tiny_source, tmp_path / "tiny-f16.gguf", type="f16"))
    for spec in TINY_LAYOUT:
        assert shapes[spec.name][1] == _ggml(spec.shape), spec.name


def test_tensor_type_rules_still_decide_per_tensor(tiny_source: Path, tmp_path: Path) -> None:
    out = sdcpp.convert(tiny_source, tmp_path / "tiny-rules.gguf", type="q8_0",
                        tensor_type_rules=r"^first_stage_model\.=f16,middle_block=q4_0")
    shapes = _shapes(out)
    vae = "first_stage_model.decoder.conv_out.weight"
    assert shapes[vae] == ("f16", (3, 3, 128, 3))           # the VAE kept in f16, 4D as before
    assert shapes[UNET + "middle_block.0.in_layers.2.weight"] == ("q4_0", (2304, 32))
    assert shapes[UNET + "input_blocks.1.0.in_layers.2.weight"] == ("q8_0", (576, 64))


def test_quantized_sd15_files_are_small(sd15_model: Path) -> None:
    """The issue's targets: q8_0 <= 55% and q4_0 <= 45% of the f16 file."""
    from sdcpp.testing import ensure_synthetic_model

    for path, limit in ((sd15_model, 0.55), (ensure_synthetic_model("sd15", "q4_0", cache_dir=CACHE_DIR), 0.45)):
        info = inspect_model(path)
        f16_bytes = sum(2 * math.prod(tensor.shape) for tensor in info.tensors)
        assert info.file_size <= limit * f16_bytes, f"{path.name}: {info.file_size / f16_bytes:.1%} of f16"
        shapes = {tensor.name: tensor for tensor in info.tensors}
        resblock_conv = shapes[UNET + "input_blocks.1.0.in_layers.2.weight"]
        assert resblock_conv.shape == (2880, 320) and resblock_conv.dtype != "f16"
        vae_conv = shapes["first_stage_model.decoder.up.0.block.0.conv1.weight"]
        assert len(vae_conv.shape) == 2 and vae_conv.dtype != "f16"


def test_model_with_quantized_convs_generates_and_applies_loras(context: sdcpp.Context) -> None:
    """The session model (q8_0, quantized convs) generates, and a LoRA on its 1x1 proj_in convs acts."""
    from sdcpp.testing import ensure_sd15_lora

    plain = context.txt2img("a cat", seed=7, **FAST)
    again = context.txt2img("a cat", seed=7, **FAST)
    assert plain.shape == (64, 64, 3) and np.array_equal(plain, again)
    assert plain.std() > 1.0
    with_lora = context.txt2img("a cat", seed=7, loras=[sdcpp.Lora(str(ensure_sd15_lora(CACHE_DIR)), 1.0)], **FAST)
    assert with_lora.shape == plain.shape
    assert not np.array_equal(with_lora, plain)


def _tensor_dims_position(path: Path, name: str) -> tuple[int, int]:
    """(file position of the first dimension, number of dimensions) of tensor ``name`` in a GGUF."""
    with open(path, "rb") as stream:
        head = stream.read(64 * 1024 * 1024)
    _, _, n_tensors, n_kv = struct.unpack("<4sIqq", head[:24])
    assert n_kv == 0
    position = 24
    for _ in range(n_tensors):
        (length,) = struct.unpack_from("<Q", head, position)
        tensor_name = head[position + 8:position + 8 + length].decode()
        position += 8 + length
        (n_dims,) = struct.unpack_from("<I", head, position)
        if tensor_name == name:
            return position + 4, n_dims
        position += 4 + 8 * n_dims + 4 + 8
    raise AssertionError(f"{name} not in {path}")


def test_flat_kernel_of_the_wrong_shape_is_refused(sd15_model: Path, tmp_path: Path,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    """[K, OC] written as [OC, K]: same size, valid GGUF, but not the conv's layout."""
    name = UNET + "input_blocks.1.0.in_layers.2.weight"
    dims_at, n_dims = _tensor_dims_position(sd15_model, name)
    assert n_dims == 2
    broken = tmp_path / "swapped.gguf"
    info = inspect_model(sd15_model)
    header_end = min(tensor.offset for tensor in info.tensors)
    with open(sd15_model, "rb") as stream:
        header = bytearray(stream.read(header_end))
    k, out_channels = struct.unpack_from("<qq", header, dims_at)
    struct.pack_into("<qq", header, dims_at, out_channels, k)
    with open(broken, "wb") as out:      # sparse: the header, then a hole of the data's size
        out.write(header)
        out.truncate(info.file_size)
    assert inspect_model(broken).format == "gguf"   # structurally fine: only the engine can tell
    with caplog.at_level("ERROR", logger="sdcpp"), pytest.raises(ModelLoadError, match="could not load"):
        sdcpp.Context(broken, threads=1)
    # The shape check runs in a loader thread: its line reaches the "sdcpp" logger (not every
    # line of a worker thread reaches the exception's engine log).
    assert f"tensor '{name}' has wrong shape in model file: got [320, 2880, 1, 1]" in caplog.text


def test_integer_weight_matrix_is_refused_before_the_engine(tmp_path: Path) -> None:
    path = tmp_path / "i32-kernel.gguf"
    name = UNET + "input_blocks.1.0.in_layers.2.weight"
    ne = (576, 64)
    data = np.zeros(ne[0] * ne[1], dtype=np.int32).tobytes()
    info = struct.pack("<Q", len(name)) + name.encode() + struct.pack("<I2qIQ", 2, *ne, 26, 0)
    header = b"GGUF" + struct.pack("<Iqq", 3, 1, 0) + info
    header += b"\0" * (-len(header) % 32)
    path.write_bytes(header + data)
    with pytest.raises(ModelLoadError, match="i32"):
        inspect_model(path)


def test_quantized_conv_matches_a_dequantized_reference_conv() -> None:
    result = subprocess.run([str(cpp_test_binary("test_quantized_conv"))], capture_output=True, text=True, timeout=600)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    assert "FAIL" not in output
    for expected in ("forward flat q8_0", "forward flat q4_0", "forward flat q4_K", "init_params"):
        assert expected in output
