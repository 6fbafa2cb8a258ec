"""The peers of the peers benchmark: SD1.5 in PyTorch/diffusers (fp32) and OpenVINO, on our weights.

The diffusers modules are built from SD1.5's configurations written here (no hub access), and
loaded *strictly* from the same LDM single-file checkpoint sdcpp reads (the synthetic f16
safetensors), through diffusers' own LDM converters. OpenVINO runs the same torch modules through
``openvino.convert_model``, saved once as IR next to the checkpoint and compiled for the CPU with
f32 inference precision.

Both peers run the same loop: CLIP text encoder on (uncond, cond), Euler sampling with
classifier-free guidance (one U-Net call on a batch of 2 per step, as diffusers does), the VAE
decoder. Prompts are fixed token ids (text encoding costs the same for any prompt of 77 tokens;
these peers have no tokenizer files offline).

Needs the ``peers`` extra: torch, diffusers, transformers, openvino, safetensors, accelerate.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

SD15_UNET = dict(sample_size=64, in_channels=4, out_channels=4, layers_per_block=2,
                 block_out_channels=(320, 640, 1280, 1280),
                 down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D",
                                   "DownBlock2D"),
                 up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
                 cross_attention_dim=768, attention_head_dim=8)
SD15_VAE = dict(in_channels=3, out_channels=3, latent_channels=4, layers_per_block=2, sample_size=512,
                block_out_channels=(128, 256, 512, 512),
                down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4)
SD15_CLIP = dict(vocab_size=49408, hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                 num_attention_heads=12, max_position_embeddings=77, hidden_act="quick_gelu", projection_dim=768)
SD15_SCHEDULER = dict(num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear")
VAE_SCALE = 0.18215
CFG_SCALE = 7.0
TOKENS = 77


def token_ids() -> Any:
    """(uncond, cond) token ids: BOS, a fixed 'prompt', EOS padding; shape (2, 77), int64."""
    import torch

    ids = torch.full((2, TOKENS), 49407, dtype=torch.int64)
    ids[:, 0] = 49406
    ids[1, 1:6] = torch.tensor([320, 22922, 536, 11936, 49407])  # "a lighthouse at dusk"-like ids
    return ids


class TorchSD15:
    """diffusers' UNet2DConditionModel, AutoencoderKL and transformers' CLIPTextModel, fp32."""

    def __init__(self, checkpoint: Path) -> None:
        import torch
        from diffusers import AutoencoderKL, UNet2DConditionModel
        from diffusers.loaders.single_file_utils import (
            convert_ldm_clip_checkpoint,
            convert_ldm_unet_checkpoint,
            convert_ldm_vae_checkpoint,
        )
        from safetensors.torch import load_file
        from transformers import CLIPTextConfig, CLIPTextModel

        from accelerate import init_empty_weights

        state = {name: tensor.float() for name, tensor in load_file(str(checkpoint)).items()}
        with init_empty_weights():  # no random init: every parameter comes from the checkpoint (assign=True)
            self.unet = UNet2DConditionModel(**SD15_UNET)
            self.vae = AutoencoderKL(**SD15_VAE)
            self.text_encoder = CLIPTextModel(CLIPTextConfig(**SD15_CLIP))
        self.unet.load_state_dict(convert_ldm_unet_checkpoint(state, self.unet.config), strict=True, assign=True)
        self.vae.load_state_dict(convert_ldm_vae_checkpoint(state, self.vae.config), strict=True, assign=True)
        clip_state = convert_ldm_clip_checkpoint(state)
        expected = set(self.text_encoder.state_dict())
        if not expected & set(clip_state):  # transformers 5 names CLIPTextModel's tensors without "text_model."
            clip_state = {name.removeprefix("text_model."): tensor for name, tensor in clip_state.items()}
        missing, unexpected = self.text_encoder.load_state_dict(clip_state, strict=False, assign=True)
        # position_ids is a non-persistent buffer in current transformers; nothing else may differ.
        missing = [name for name in missing if not name.endswith("position_ids")]
        if missing or unexpected:
            raise RuntimeError(f"CLIP checkpoint mismatch: {len(missing)} missing (first {missing[:3]}), "
                               f"{len(unexpected)} unexpected (first {unexpected[:3]})")
        del state
        for module in (self.unet, self.vae, self.text_encoder):
            module.eval().requires_grad_(False)
        self.torch = torch

    def encode(self, ids: Any) -> Any:
        return self.text_encoder(ids)[0]

    def denoise(self, latents: Any, timestep: Any, context: Any) -> Any:
        return self.unet(latents, timestep, encoder_hidden_states=context, return_dict=False)[0]

    def decode(self, latents: Any) -> Any:
        return self.vae.decode(latents / VAE_SCALE, return_dict=False)[0]


class _UNetGraph:
    """torch.nn.Module wrappers with plain tensor outputs, for openvino.convert_model."""

    @staticmethod
    def wrappers(model: TorchSD15) -> dict[str, Any]:
        import torch

        class UNet(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.unet = model.unet

            def forward(self, sample: Any, timestep: Any, context: Any) -> Any:
                return self.unet(sample, timestep, encoder_hidden_states=context, return_dict=False)[0]

        class Decoder(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.vae = model.vae

            def forward(self, latents: Any) -> Any:
                return self.vae.decode(latents, return_dict=False)[0]

        class TextEncoder(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.text_encoder = model.text_encoder

            def forward(self, ids: Any) -> Any:
                return self.text_encoder(ids)[0]

        return {"unet": UNet(), "vae_decoder": Decoder(), "text_encoder": TextEncoder()}


def convert_to_openvino(checkpoint: Path, ir_dir: Path, size: int) -> dict[str, Path]:
    """Convert the torch modules to OpenVINO IR (static shapes for ``size``) once; return the .xml paths."""
    paths = {name: ir_dir / f"{name}-{size}.xml" for name in ("unet", "vae_decoder", "text_encoder")}
    if all(path.exists() for path in paths.values()):
        return paths
    import openvino as ov
    import torch

    model = TorchSD15(checkpoint)
    latent = size // 8
    examples = {"unet": (torch.randn(2, 4, latent, latent), torch.tensor([999.0]), torch.randn(2, TOKENS, 768)),
                "vae_decoder": (torch.randn(1, 4, latent, latent),),
                "text_encoder": (token_ids(),)}
    ir_dir.mkdir(parents=True, exist_ok=True)
    for name, module in _UNetGraph.wrappers(model).items():
        if paths[name].exists():
            continue
        with torch.no_grad():
            converted = ov.convert_model(module, example_input=examples[name])
        shapes = [list(example.shape) for example in examples[name]]
        converted.reshape({converted.inputs[i]: ov.PartialShape(shape) for i, shape in enumerate(shapes)})
        temporary = paths[name].with_suffix(".tmp.xml")
        ov.save_model(converted, str(temporary), compress_to_fp16=False)
        temporary.with_suffix(".bin").replace(paths[name].with_suffix(".bin"))
        temporary.replace(paths[name])
        del converted
    return paths


class OpenVinoSD15:
    """The converted IR compiled for the CPU, f32 inference precision, a fixed thread count."""

    def __init__(self, paths: dict[str, Path], threads: int) -> None:
        import openvino as ov

        core = ov.Core()
        config = {"INFERENCE_NUM_THREADS": threads, "INFERENCE_PRECISION_HINT": "f32",
                  "PERFORMANCE_HINT": "LATENCY"}
        self.compiled = {name: core.compile_model(str(path), "CPU", config) for name, path in paths.items()}
        self.requests = {name: compiled.create_infer_request() for name, compiled in self.compiled.items()}

    def _infer(self, name: str, *inputs: Any) -> Any:
        import torch

        request = self.requests[name]
        request.infer([np.ascontiguousarray(item.numpy() if hasattr(item, "numpy") else item) for item in inputs])
        return torch.from_numpy(request.get_output_tensor(0).data.copy())

    def encode(self, ids: Any) -> Any:
        return self._infer("text_encoder", ids)

    def denoise(self, latents: Any, timestep: Any, context: Any) -> Any:
        import torch

        return self._infer("unet", latents, torch.tensor([float(timestep)], dtype=torch.float32), context)

    def decode(self, latents: Any) -> Any:
        return self._infer("vae_decoder", latents / VAE_SCALE)


def generate(model: Any, size: int, steps: int, seed: int = 42) -> dict[str, Any]:
    """One text-to-image run with ``model`` (TorchSD15 or OpenVinoSD15); stage times in seconds."""
    import torch
    from diffusers import EulerDiscreteScheduler

    scheduler = EulerDiscreteScheduler(**SD15_SCHEDULER)
    clock: Callable[[], float] = time.perf_counter
    cpu_started = time.process_time()
    with torch.inference_mode():
        started = clock()
        context = model.encode(token_ids())
        encoded = clock()
        scheduler.set_timesteps(steps)
        generator = torch.Generator().manual_seed(seed)
        latents = torch.randn((1, 4, size // 8, size // 8), generator=generator) * scheduler.init_noise_sigma
        for timestep in scheduler.timesteps:
            batch = scheduler.scale_model_input(torch.cat([latents, latents]), timestep)
            noise = model.denoise(batch, timestep, context)
            uncond, cond = noise.chunk(2)
            latents = scheduler.step(uncond + CFG_SCALE * (cond - uncond), timestep, latents).prev_sample
        sampled = clock()
        image = model.decode(latents)
        finished = clock()
    cpu_s = time.process_time() - cpu_started
    pixels = ((image[0].clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(1, 2, 0).numpy()
    return {"wall_s": finished - started, "conditioning_s": encoded - started, "sampling_s": sampled - encoded,
            "decode_s": finished - sampled, "cpu_s": cpu_s, "image": pixels}
