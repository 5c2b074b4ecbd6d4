"""Rectified flow: the training objective and a few-step Euler sampler.

A sample x_1 (latent frames) and noise x_0 ~ N(0, I) are joined by the straight path
x_t = (1 - t) x_0 + t x_1, whose velocity is x_1 - x_0 everywhere; the model learns that
velocity, and sampling integrates dx/dt = v(x_t, t) from noise at t = 0 to t = 1. Straight
paths are why a handful of Euler steps suffice (WoVR samples with 5).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import torch

Velocity = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
TIME_SAMPLING = ("uniform", "logit_normal")
# What the network outputs: the velocity x_1 - x_0, or the clean sample x_1 itself ("data",
# x-prediction), from which the velocity on the straight path is (x_1 - x_t) / (1 - t).
PREDICTIONS = ("velocity", "data")
# 1 - t is kept above this when a data prediction is turned into a velocity.
MIN_REMAINING = 0.05


def sample_times(batch: int, how: str = "logit_normal", *,
                 generator: torch.Generator | None = None,
                 device: torch.device | str = "cpu") -> torch.Tensor:
    """Flow times in (0, 1): ``uniform``, or ``logit_normal`` (sigmoid of a standard normal:
    more weight on the middle of the path, where the velocity is hardest to predict)."""
    if how == "uniform":
        return torch.rand(batch, generator=generator, device=device)
    if how == "logit_normal":
        return torch.sigmoid(torch.randn(batch, generator=generator, device=device))
    raise ValueError(f"time sampling {how!r} is not one of {', '.join(TIME_SAMPLING)}")


def interpolate(x0: torch.Tensor, x1: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """x_t on the straight path, t (B,) broadcast over the other dimensions."""
    shape = (-1,) + (1,) * (x1.dim() - 1)
    return (1 - t.view(shape)) * x0 + t.view(shape) * x1


def flow_loss(velocity: Velocity, x1: torch.Tensor, *, how: str = "logit_normal",
              generator: torch.Generator | None = None,
              weight: torch.Tensor | None = None, prediction: str = "velocity") -> torch.Tensor:
    """Mean squared error between the network's output at (x_t, t) and its target: x_1 - x_0
    (``prediction="velocity"``) or x_1 (``"data"``: the same path and sampler, the loss
    weighted towards the clean sample, which is what a nearly deterministic future needs);
    ``weight`` (broadcastable to x1) masks or weighs elements (padding frames, for
    instance)."""
    if prediction not in PREDICTIONS:
        raise ValueError(f"prediction {prediction!r} is not one of {', '.join(PREDICTIONS)}")
    x0 = torch.randn(x1.shape, generator=generator, device=x1.device, dtype=x1.dtype)
    t = sample_times(x1.shape[0], how, generator=generator, device=x1.device)
    target = x1 - x0 if prediction == "velocity" else x1
    error = (velocity(interpolate(x0, x1, t), t) - target) ** 2
    if weight is None:
        return error.mean()
    weight = weight.expand_as(error)
    return (error * weight).sum() / weight.sum().clamp_min(1e-8)


@torch.no_grad()
def sample(velocity: Velocity, noise: torch.Tensor, steps: int = 5,
           prediction: str = "velocity") -> torch.Tensor:
    """Integrate from ``noise`` (t = 0) to t = 1 in ``steps`` Euler steps; a network that
    predicts data (x_1) is turned into the velocity (x_1 - x_t) / (1 - t) at each step."""
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    x = noise
    times = torch.linspace(0.0, 1.0, steps + 1, device=noise.device)
    for t0, t1 in itertools.pairwise(times):
        t = t0.expand(noise.shape[0])
        out = velocity(x, t)
        if prediction == "data":
            out = (out - x) / (1.0 - t0).clamp_min(MIN_REMAINING)
        x = x + (t1 - t0) * out
    return x
