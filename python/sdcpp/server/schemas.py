"""Request bodies of the three APIs, mirroring AUTOMATIC1111's and OpenAI's schemas field for field.

Fields that a request may leave out default to None here so that the server's own defaults
(``--steps``, ``--cfg-scale``, ...) apply. sdcpp's extras (``deepcache``, ``cache_mode``,
``cache_options``) are accepted by every API.
"""
from __future__ import annotations

from typing import Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field

DeepCacheField = Union[str, int, bool, dict[str, Optional[int]], None]
"""``"3,0"`` (interval,depth,start,end), an interval, ``{"interval": 3, "depth": 0}``, or false."""


class _Extras(BaseModel):
    """sdcpp's additions to every API."""

    deepcache: DeepCacheField = None
    cache_mode: Optional[str] = None
    cache_options: Union[str, dict[str, Union[str, int, float, bool]], None] = None


class A1111Txt2Img(_Extras):
    """Body of ``POST /sdapi/v1/txt2img`` (A1111's StableDiffusionTxt2ImgProcessingAPI)."""

    model_config = ConfigDict(extra="ignore")

    prompt: str = ""
    negative_prompt: str = ""
    styles: Optional[list[str]] = None
    seed: Optional[int] = None
    subseed: int = -1
    subseed_strength: float = 0.0
    seed_resize_from_h: int = -1
    seed_resize_from_w: int = -1
    sampler_name: Optional[str] = None
    sampler_index: Optional[str] = None
    scheduler: Optional[str] = None
    batch_size: int = 1
    n_iter: int = 1
    steps: Optional[int] = None
    cfg_scale: Optional[float] = None
    width: Optional[int] = None
    height: Optional[int] = None
    restore_faces: Optional[bool] = None
    tiling: Optional[bool] = None
    do_not_save_samples: bool = False
    do_not_save_grid: bool = False
    eta: Optional[float] = None
    denoising_strength: Optional[float] = None
    s_min_uncond: Optional[float] = None
    s_churn: Optional[float] = None
    s_tmax: Optional[float] = None
    s_tmin: Optional[float] = None
    s_noise: Optional[float] = None
    override_settings: Optional[dict[str, Any]] = None
    override_settings_restore_afterwards: bool = True
    refiner_checkpoint: Optional[str] = None
    refiner_switch_at: Optional[float] = None
    disable_extra_networks: bool = False
    firstpass_image: Optional[str] = None
    comments: Optional[dict[str, Any]] = None
    enable_hr: bool = False
    firstphase_width: int = 0
    firstphase_height: int = 0
    hr_scale: float = 2.0
    hr_upscaler: Optional[str] = None
    hr_second_pass_steps: int = 0
    hr_resize_x: int = 0
    hr_resize_y: int = 0
    hr_checkpoint_name: Optional[str] = None
    hr_sampler_name: Optional[str] = None
    hr_scheduler: Optional[str] = None
    hr_prompt: str = ""
    hr_negative_prompt: str = ""
    force_task_id: Optional[str] = None
    script_name: Optional[str] = None
    script_args: list[Any] = Field(default_factory=list)
    send_images: bool = True
    save_images: bool = False
    alwayson_scripts: dict[str, Any] = Field(default_factory=dict)
    infotext: Optional[str] = None


class A1111Img2Img(A1111Txt2Img):
    """Body of ``POST /sdapi/v1/img2img`` (A1111's StableDiffusionImg2ImgProcessingAPI)."""

    init_images: list[str] = Field(default_factory=list)
    resize_mode: int = 0
    image_cfg_scale: Optional[float] = None
    mask: Optional[str] = None
    mask_blur_x: int = 4
    mask_blur_y: int = 4
    mask_blur: Optional[int] = None
    mask_round: bool = True
    inpainting_fill: int = 0
    inpaint_full_res: Union[bool, int] = True
    inpaint_full_res_padding: int = 0
    inpainting_mask_invert: int = 0
    initial_noise_multiplier: Optional[float] = None
    latent_mask: Optional[str] = None
    include_init_images: bool = False


class A1111Options(BaseModel):
    """Body of ``POST /sdapi/v1/options`` (only the model checkpoint may be named)."""

    model_config = ConfigDict(extra="allow")

    sd_model_checkpoint: Optional[str] = None


class OpenAIImageGeneration(_Extras):
    """Body of ``POST /v1/images/generations`` (OpenAI's CreateImageRequest) plus sdcpp extras."""

    model_config = ConfigDict(extra="forbid")

    prompt: str
    model: Optional[str] = None
    n: Optional[int] = Field(default=1, ge=1, le=10)
    quality: Optional[str] = None
    response_format: Optional[Literal["url", "b64_json"]] = None
    size: Optional[str] = None
    style: Optional[str] = None
    user: Optional[str] = None
    background: Optional[str] = None
    moderation: Optional[str] = None
    output_format: Optional[Literal["png", "jpeg", "webp"]] = None
    output_compression: Optional[int] = Field(default=None, ge=0, le=100)
    stream: Optional[bool] = None
    partial_images: Optional[int] = None
    # sdcpp's extras, with sd-cli's names
    negative_prompt: Optional[str] = None
    steps: Optional[int] = None
    cfg_scale: Optional[float] = None
    seed: Optional[int] = None
    sampling_method: Optional[str] = None
    scheduler: Optional[str] = None
    clip_skip: Optional[int] = None
    eta: Optional[float] = None


class NativeJob(_Extras):
    """Body of ``POST /sdcpp/v1/jobs``: :meth:`sdcpp.Context.generate`'s keyword names.

    Images (``init_image``, ``mask``, ``control_image``) are base64 strings; ``loras`` maps LoRA
    names in ``--lora-model-dir`` to multipliers.
    """

    # Strict: JSON types as given (no "2" for 2, no 1 for true, no true for 1).
    model_config = ConfigDict(extra="forbid", strict=True)

    prompt: str
    negative_prompt: Optional[str] = None
    width: Optional[int] = None
    height: Optional[int] = None
    steps: Optional[int] = None
    cfg_scale: Optional[float] = None
    img_cfg_scale: Optional[float] = None
    guidance: Optional[float] = None
    seed: Optional[int] = None
    sampling_method: Optional[str] = None
    scheduler: Optional[str] = None
    eta: Optional[float] = None
    sigmas: Union[list[float], str, None] = None
    flow_shift: Optional[float] = None
    timestep_shift: Optional[int] = None
    batch_count: Optional[int] = None
    clip_skip: Optional[int] = None
    init_image: Optional[str] = None
    mask: Optional[str] = None
    strength: Optional[float] = None
    control_image: Optional[str] = None
    control_strength: Optional[float] = None
    loras: Optional[dict[str, float]] = None
    hires: Optional[bool] = None
    hires_upscaler: Optional[str] = None
    hires_scale: Optional[float] = None
    hires_width: Optional[int] = None
    hires_height: Optional[int] = None
    hires_steps: Optional[int] = None
    hires_denoising_strength: Optional[float] = None
    slg_scale: Optional[float] = None
    skip_layers: Optional[list[int]] = None
    skip_layer_start: Optional[float] = None
    skip_layer_end: Optional[float] = None
    vae_tiling: Optional[bool] = None
    vae_tile_overlap: Optional[float] = None
