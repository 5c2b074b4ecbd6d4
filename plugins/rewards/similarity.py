"""WAM-RL's reconstruction rewards without learned features: pixel MSE and optical-flow MSE.

WAM-RL rewards an executed chunk by how closely the robot's real future matches the future
the world model imagined for it (section 3.3): r = sim(imagined, executed). Here the
similarity is the negative mean squared error, of pixels in [0, 1] (the paper's best,
21% on Water Plants), or of dense optical flow between consecutive frames (19%), so that
what moves and how is compared rather than appearance. Flow is OpenCV's Farneback.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from warl.core.errors import ConfigError
from warl.core.reward import FUTURES, check_futures


class PixelMSE:
    """sim = -mean((imagined - executed)^2) over pixels in [0, 1]: 0 for identical futures."""

    inputs = FUTURES

    def similarity(self, imagined: Any, executed: Any) -> np.ndarray:
        a, b = check_futures(imagined, executed, "warl/pixel-mse")
        diff = a.astype(np.float32) / 255.0 - b.astype(np.float32) / 255.0
        return -(diff**2).reshape(len(a), -1).mean(axis=1)


class FlowMSE:
    """sim = -mean((flow(imagined) - flow(executed))^2), flow in pixels per frame between
    consecutive frames (Farneback: ``levels`` pyramid levels, window ``window``)."""

    inputs = FUTURES

    def __init__(self, levels: int = 3, window: int = 15) -> None:
        try:
            import cv2
        except ImportError:
            raise ConfigError("warl/flow-mse needs OpenCV: pip install 'warl[rewards]'") from None
        # Any: OpenCV's bundled stubs type its functions differently from release to release.
        self.cv2: Any = cv2
        self.levels, self.window = levels, window

    def flows(self, frames: np.ndarray) -> np.ndarray:
        """(T, H, W, 3) uint8 -> (T - 1, H, W, 2) flow between consecutive frames."""
        gray = [self.cv2.cvtColor(f, self.cv2.COLOR_RGB2GRAY) for f in frames]
        return np.stack([
            self.cv2.calcOpticalFlowFarneback(prev, nxt, None, 0.5, self.levels, self.window,
                                              3, 5, 1.2, 0)
            for prev, nxt in itertools.pairwise(gray)])

    def similarity(self, imagined: Any, executed: Any) -> np.ndarray:
        a, b = check_futures(imagined, executed, "warl/flow-mse", min_frames=2)
        return np.asarray([-float(((self.flows(x) - self.flows(y)) ** 2).mean())
                           for x, y in zip(a, b, strict=True)], np.float32)


def make_pixel_mse() -> PixelMSE:
    return PixelMSE()


def make_flow_mse(levels: int = 3, window: int = 15) -> FlowMSE:
    return FlowMSE(levels, window)
