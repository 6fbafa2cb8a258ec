"""Image fidelity against a reference image: PSNR and SSIM, in plain numpy (no scikit-image)."""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

_K1, _K2, _PEAK = 0.01, 0.03, 255.0


def psnr(reference: np.ndarray, image: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB of two uint8 images (inf when identical)."""
    mse = float(np.mean((reference.astype(np.float64) - image.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else float(10 * np.log10(_PEAK**2 / mse))


def _gaussian_kernel(size: int = 11, sigma: float = 1.5) -> np.ndarray:
    offsets = np.arange(size, dtype=np.float64) - (size - 1) / 2
    kernel = np.exp(-(offsets**2) / (2 * sigma**2))
    normalised: np.ndarray = kernel / kernel.sum()
    return normalised


def _filter_valid(plane: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Separable 2-D filtering of an (H, W) plane, 'valid' borders (as Wang et al. 2004)."""
    rows = sliding_window_view(plane, kernel.size, axis=1) @ kernel
    filtered: np.ndarray = sliding_window_view(rows, kernel.size, axis=0) @ kernel
    return filtered


def ssim(reference: np.ndarray, image: np.ndarray, window: int = 11, sigma: float = 1.5) -> float:
    """Structural similarity (Wang, Bovik, Sheikh, Simoncelli 2004) of two uint8 images.

    Gaussian window (11 x 11, sigma 1.5), K1 = 0.01, K2 = 0.03, dynamic range 255, 'valid' borders;
    for colour images the mean of the per-channel SSIMs. 1.0 means identical.
    """
    if reference.shape != image.shape:
        raise ValueError(f"shapes differ: {reference.shape} vs {image.shape}")
    ref = reference.astype(np.float64)
    img = image.astype(np.float64)
    if ref.ndim == 2:
        ref, img = ref[..., None], img[..., None]
    kernel = _gaussian_kernel(window, sigma)
    c1, c2 = (_K1 * _PEAK) ** 2, (_K2 * _PEAK) ** 2
    scores = []
    for channel in range(ref.shape[2]):
        x, y = ref[..., channel], img[..., channel]
        mu_x, mu_y = _filter_valid(x, kernel), _filter_valid(y, kernel)
        var_x = _filter_valid(x * x, kernel) - mu_x**2
        var_y = _filter_valid(y * y, kernel) - mu_y**2
        cov = _filter_valid(x * y, kernel) - mu_x * mu_y
        numerator = (2 * mu_x * mu_y + c1) * (2 * cov + c2)
        denominator = (mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2)
        scores.append(float(np.mean(numerator / denominator)))
    return float(np.mean(scores))
