"""The learned metrics of WoVR's table 1 (LPIPS, FloLPIPS, FID, FVD) from weight files the
user supplies: nothing here downloads, and a missing file is one error naming it.

- LPIPS (Zhang et al. 2018, AlexNet variant): AlexNet's five convolution stages, channel-
  normalised, their squared differences weighted by learned 1x1 layers and averaged over
  space. Two files: the AlexNet backbone in torchvision's layout (``features.0.weight``, ...:
  ``alexnet-owt-7be5be79.pth``) and the linear layers in the lpips package's layout
  (``lin0.model.1.weight``, ...: ``alex.pth``).
- FloLPIPS (Danier et al. 2022): the LPIPS distance map weighted by where the optical flow
  of the imagined video departs from the real one's (Farneback here), so that errors in
  motion count more than errors in static texture.
- FID and FVD: the Fréchet distance between Gaussians fitted to features of real and
  imagined frames (FID: Inception-v3 pool features) or clips (FVD: I3D logits/features).
  The feature networks are the TorchScript files the established tools distribute (clean-
  fid's ``inception-2015-12-05.pt``, StyleGAN-V's ``i3d_torchscript.pt``), called as they
  are: ``net(images, return_features=True)`` with uint8-range float images (N, 3, H, W), and
  ``net(videos, rescale=False, resize=True, return_features=True)`` with videos (N, 3, T,
  H, W) in [-1, 1].
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from warl.core.errors import ConfigError

ALEX_CHANNELS = (64, 192, 384, 256, 256)


def weights_file(path: str | Path | None, what: str) -> Path:
    if not path:
        raise ConfigError(f"{what}: no weights file given; it is not bundled, pass its path")
    file = Path(path).expanduser()
    if not file.is_file():
        raise ConfigError(f"{what}: {file} does not exist")
    return file


class AlexFeatures(nn.Module):
    """torchvision's AlexNet ``features`` (same layer indices, so its state dict loads), cut
    after each ReLU that LPIPS reads."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, 11, 4, 2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
            nn.Conv2d(64, 192, 5, padding=2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
            nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        taps, out = {1, 4, 7, 9, 11}, []
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in taps:
                out.append(x)
            if len(out) == len(taps):
                break
        return out


class LPIPS(nn.Module):
    """Perceptual distance of frames; ``distance_map`` keeps its spatial layout."""

    SHIFT = (-0.030, -0.088, -0.188)
    SCALE = (0.458, 0.448, 0.450)
    shift: torch.Tensor
    scale: torch.Tensor

    def __init__(self, backbone: str | Path | None, linear: str | Path | None) -> None:
        super().__init__()
        self.net = AlexFeatures()
        self.lins = nn.ModuleList(nn.Sequential(nn.Dropout(), nn.Conv2d(c, 1, 1, bias=False))
                                  for c in ALEX_CHANNELS)
        state = torch.load(weights_file(backbone, "LPIPS backbone (AlexNet)"),
                           map_location="cpu", weights_only=True)
        features = {k: v for k, v in state.items() if k.startswith("features.")}
        self.net.load_state_dict(features)
        lin = torch.load(weights_file(linear, "LPIPS linear layers"), map_location="cpu",
                         weights_only=True)
        self.lins.load_state_dict({k.replace("lin", "", 1).replace(".model.", ".", 1): v
                                   for k, v in lin.items()})
        self.register_buffer("shift", torch.tensor(self.SHIFT).view(1, 3, 1, 1))
        self.register_buffer("scale", torch.tensor(self.SCALE).view(1, 3, 1, 1))
        self.eval()

    def distance_map(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """a, b (N, 3, H, W) in [0, 1] -> (N, 1, H, W) distance, each layer upsampled."""
        size = a.shape[-2:]
        fa = self.net((a * 2 - 1 - self.shift) / self.scale)
        fb = self.net((b * 2 - 1 - self.shift) / self.scale)
        total = torch.zeros(a.shape[0], 1, *size)
        for x, y, lin in zip(fa, fb, self.lins, strict=True):
            diff = (F.normalize(x, dim=1) - F.normalize(y, dim=1)) ** 2
            total = total + F.interpolate(lin(diff), size=size, mode="bilinear",
                                          align_corners=False)
        return total

    @torch.no_grad()
    def frames(self, real: np.ndarray, imagined: np.ndarray) -> np.ndarray:
        """Per-frame LPIPS of uint8 frames (N, H, W, 3)."""
        maps = self.distance_map(_images(real), _images(imagined))
        return np.asarray(maps.mean(dim=(1, 2, 3)).numpy())


def _images(frames: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(np.asarray(frames)).permute(0, 3, 1, 2).float() / 255.0


@torch.no_grad()
def flolpips(lpips: LPIPS, real: np.ndarray, imagined: np.ndarray) -> float:
    """FloLPIPS of one video pair (T, H, W, 3): each frame's LPIPS map weighted by the
    normalised magnitude of the difference between the two videos' optical flows into it."""
    from warl.plugins.rewards.similarity import FlowMSE

    flow = FlowMSE()
    difference = np.linalg.norm(flow.flows(real) - flow.flows(imagined), axis=-1)  # (T-1, H, W)
    weights = torch.as_tensor(difference / (difference.sum(axis=(1, 2), keepdims=True) + 1e-8),
                              dtype=torch.float32)[:, None]
    maps = lpips.distance_map(_images(real[1:]), _images(imagined[1:]))
    return float((maps * weights).sum(dim=(1, 2, 3)).mean())


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to feature sets (N, D) and (M, D)."""
    from scipy import linalg

    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = np.real(linalg.sqrtm(cov_a @ cov_b))
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a + cov_b - 2 * root))


def torchscript(path: str | Path | None, what: str) -> Any:
    return torch.jit.load(str(weights_file(path, what)), map_location="cpu").eval()


@torch.no_grad()
def fid(net: Any, real: np.ndarray, imagined: np.ndarray, batch: int = 64) -> float:
    """FID of two frame sets (N, H, W, 3) uint8 with an Inception TorchScript file."""
    def features(frames: np.ndarray) -> np.ndarray:
        parts = [net(torch.as_tensor(frames[i:i + batch]).permute(0, 3, 1, 2).float(),
                     return_features=True).numpy() for i in range(0, len(frames), batch)]
        return np.concatenate(parts).astype(np.float64)
    return frechet_distance(features(real), features(imagined))


@torch.no_grad()
def fvd(net: Any, real: Sequence[np.ndarray], imagined: Sequence[np.ndarray]) -> float:
    """FVD of two sets of clips (T, H, W, 3) uint8 with an I3D TorchScript file."""
    def features(clips: Sequence[np.ndarray]) -> np.ndarray:
        video = torch.stack([torch.as_tensor(c).permute(3, 0, 1, 2).float() / 127.5 - 1
                             for c in clips])
        return net(video, rescale=False, resize=True,
                   return_features=True).numpy().astype(np.float64)
    return frechet_distance(features(real), features(imagined))


def learned_table(real: Sequence[np.ndarray], imagined: Sequence[np.ndarray],
                  horizons: Sequence[int], lpips: LPIPS | None = None, inception: Any = None,
                  i3d: Any = None, clip: int = 16) -> dict[str, dict[str, float]]:
    """Per horizon h, over the first h imagined frames of every episode (``real[e][0]`` is
    the given frame, as in `warl.core.wm_quality.horizon_table`): LPIPS and FloLPIPS means,
    FID of the pooled frames, FVD of ``clip``-frame clips; only the metrics whose networks
    were given."""
    table: dict[str, dict[str, float]] = {}
    for h in horizons:
        pairs = [(r[1:h + 1], g[:min(h, len(r) - 1)]) for r, g in zip(real, imagined,
                                                                       strict=True)]
        row: dict[str, float] = {}
        if lpips is not None:
            row["lpips"] = float(np.concatenate([lpips.frames(r, g) for r, g in pairs]).mean())
            row["flolpips"] = float(np.mean([flolpips(lpips, r, g) for r, g in pairs
                                             if len(r) > 1]))
        if inception is not None:
            row["fid"] = fid(inception, np.concatenate([r for r, _ in pairs]),
                             np.concatenate([g for _, g in pairs]))
        if i3d is not None:
            clips = [(r[s:s + clip], g[s:s + clip]) for r, g in pairs
                     for s in range(0, len(r) - clip + 1, clip)]
            if len(clips) >= 2:
                row["fvd"] = fvd(i3d, [r for r, _ in clips], [g for _, g in clips])
        table[str(h)] = row
    return table
