"""Flow-SDE: a flow-matching action head made a stochastic policy with a tractable likelihood.

The deterministic sampler integrates dx = v(x, t) dt from noise x_0 in S Euler steps. Flow-SDE
(WAM-RL equations 3-5, after pi_RL) adds Gaussian noise to every step, so each step is

    x_{k+1} ~ N(mu_k, sigma_k^2 I),   mu_k = x_k + v(x_k, t_k) / S,   t_k = k / S,

and the chunk's log-likelihood is the sum of the S transitions' Gaussian log-densities
(equation 5); the starting noise x_0 does not depend on the policy and is left out. The
policy's "action" is the whole denoising path (x_0 .. x_S); the env executes x_S clipped to
the action bounds. The noise schedule (the paper leaves it open): ``constant`` sigma_k =
``noise / sqrt(S)``, so that without the velocity's contraction the path's noise would add up
to a standard deviation of ``noise`` whatever S is; ``decreasing`` scales that by
sqrt(1 - t_k) (more exploration early in the path, a cleaner final step).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

Velocity = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (x, t (B,)) -> v
SCHEDULES = ("constant", "decreasing")


def sigmas(steps: int, noise: float, schedule: str = "constant") -> torch.Tensor:
    """sigma_k for k = 0..S-1 (see the module doc)."""
    if schedule not in SCHEDULES:
        raise ValueError(f"noise schedule {schedule!r} is not one of {SCHEDULES}")
    base = torch.full((steps,), noise / math.sqrt(steps))
    if schedule == "decreasing":
        base = base * torch.sqrt(1.0 - torch.arange(steps) / steps)
    return base


def sde_sample(velocity: Velocity, x0: torch.Tensor, sigma: torch.Tensor,
               generator: torch.Generator | None = None) -> torch.Tensor:
    """The denoising path (B, S + 1, ...) from ``x0`` (B, ...): x_0, x_1, .., x_S."""
    steps = len(sigma)
    path = [x0]
    x = x0
    for k in range(steps):
        t = torch.full((len(x),), k / steps, device=x.device)
        mean = x + velocity(x, t) / steps
        eps = torch.randn(x.shape, generator=generator).to(x.device)
        x = mean + sigma[k].to(x.device) * eps
        path.append(x)
    return torch.stack(path, dim=1)


def sde_log_prob(velocity: Velocity, path: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """log pi(path) = sum_k log N(x_{k+1}; x_k + v(x_k, t_k) / S, sigma_k^2 I), (B,).

    All S velocity evaluations run as one batch (B * S rows): the path is given, so the steps
    do not depend on each other here, and one call is much cheaper than S."""
    b, steps = path.shape[0], len(sigma)
    if path.shape[1] != steps + 1:
        raise ValueError(f"a path of {path.shape[1]} points does not fit {steps} steps")
    x = path[:, :-1].reshape(b * steps, *path.shape[2:])
    t = (torch.arange(steps, device=path.device, dtype=path.dtype) / steps).repeat(b)
    mean = x + velocity(x, t) / steps
    target = path[:, 1:].reshape_as(mean)
    s = sigma.to(path).repeat(b).view(-1, *([1] * (mean.dim() - 1)))
    log_density = -0.5 * ((target - mean) / s) ** 2 - torch.log(s) - 0.5 * math.log(2 * math.pi)
    return log_density.reshape(b, -1).sum(-1)
