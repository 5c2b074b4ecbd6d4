"""WAM-RL's feature similarities: DINOv2 (per frame) and V-JEPA2 (per clip) embeddings.

The similarity is the cosine between the imagined and the executed future's embeddings
(DINOv2: each frame's CLS embedding, averaged over frames; V-JEPA2: the clip's mean token),
so it lies in [-1, 1]. The networks are transformers' `Dinov2Model` and `VJEPA2Model`,
loaded from a local folder (``config.json`` and the weights, as `save_pretrained` writes
them): nothing is downloaded, and a missing folder or file is one error naming it.
Frames are resized to the model's input size and normalised with ImageNet's statistics.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from warl.core.errors import ConfigError
from warl.core.reward import FUTURES, check_futures

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _load(who: str, weights: str | None, model_class: str) -> Any:
    if not weights:
        raise ConfigError(f"{who} needs weights=<folder with config.json and the model's "
                          f"weights> (transformers' save_pretrained layout); none are bundled")
    folder = Path(weights).expanduser()
    if not (folder / "config.json").is_file():
        raise ConfigError(f"{who}: {folder / 'config.json'} does not exist; give the folder "
                          f"that save_pretrained wrote")
    try:
        import transformers
    except ImportError:
        raise ConfigError(f"{who} needs transformers: pip install 'warl[rewards]'") from None
    try:
        model = getattr(transformers, model_class).from_pretrained(folder,
                                                                    local_files_only=True)
    except OSError as exc:
        raise ConfigError(f"{who}: cannot load {folder}: {exc}") from None
    return model.eval()


class _Features:
    inputs = FUTURES
    who = ""

    def _pixels(self, frames: np.ndarray, size: int) -> Any:
        """uint8 (N, H, W, 3) -> normalised float (N, 3, size, size)."""
        import torch
        from torch.nn import functional as F

        x = torch.as_tensor(frames).permute(0, 3, 1, 2).float() / 255.0
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False,
                          antialias=True)
        mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
        std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
        return (x - mean) / std

    def embed(self, futures: np.ndarray) -> Any:
        raise NotImplementedError

    def similarity(self, imagined: Any, executed: Any) -> np.ndarray:
        import torch

        a, b = check_futures(imagined, executed, self.who, self.min_frames)
        with torch.no_grad():
            ea, eb = self.embed(a), self.embed(b)
        cosine = torch.nn.functional.cosine_similarity(ea, eb, dim=-1)
        return cosine.reshape(len(a), -1).mean(dim=1).numpy().astype(np.float32)

    min_frames = 1


class DINOv2Similarity(_Features):
    """Mean over frames of the cosine between DINOv2 CLS embeddings."""

    who = "warl/dinov2"

    def __init__(self, weights: str | None = None) -> None:
        self.model = _load(self.who, weights, "Dinov2Model")
        self.size = int(self.model.config.image_size)

    def embed(self, futures: np.ndarray) -> Any:
        b, t = futures.shape[:2]
        pixels = self._pixels(futures.reshape(b * t, *futures.shape[2:]), self.size)
        out = self.model(pixel_values=pixels)
        return out.last_hidden_state[:, 0].reshape(b, t, -1)


class VJEPA2Similarity(_Features):
    """Cosine between V-JEPA2 clip embeddings (the mean of the encoder's tokens); a future's
    frame count is padded by repeating its last frame to a multiple of the tubelet size."""

    who = "warl/vjepa2"
    min_frames = 2

    def __init__(self, weights: str | None = None) -> None:
        self.model = _load(self.who, weights, "VJEPA2Model")
        self.size = int(self.model.config.crop_size)
        self.tubelet = int(self.model.config.tubelet_size)

    def embed(self, futures: np.ndarray) -> Any:
        b, t = futures.shape[:2]
        pad = -t % self.tubelet
        if pad:
            futures = np.concatenate([futures, np.repeat(futures[:, -1:], pad, axis=1)], 1)
            t += pad
        pixels = self._pixels(futures.reshape(b * t, *futures.shape[2:]), self.size)
        video = pixels.reshape(b, t, 3, self.size, self.size)
        out = self.model(pixel_values_videos=video, skip_predictor=True)
        return out.last_hidden_state.mean(dim=1)


def make_dinov2(weights: str | None = None) -> DINOv2Similarity:
    return DINOv2Similarity(weights)


def make_vjepa2(weights: str | None = None) -> VJEPA2Similarity:
    return VJEPA2Similarity(weights)
