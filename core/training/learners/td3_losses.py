"""The chunk-level TD3 + BC objective (HALO-WA section 3.3, equations 4-7) as pure functions of
tensors; `ChunkTD3` composes them into an update."""

from __future__ import annotations

import torch


def chunk_td_target(reward: torch.Tensor, done: torch.Tensor, next_q1: torch.Tensor,
                    next_q2: torch.Tensor, gamma: float, chunk: int,
                    max_return: float | None = None) -> torch.Tensor:
    """Equation (5): y = R_t + gamma^C * min_j Q'_j(s_{t+C}, pi'(s_{t+C})) * (1 - done).

    ``reward`` is the chunk's summed reward R_t, ``done`` 1 where the episode terminated inside
    the chunk (truncation still bootstraps). With ``max_return`` the target is clamped to
    [0, max_return]: under a sparse success reward no return can exceed it, and the clamp keeps
    early Q over-estimates from feeding on themselves.
    """
    bootstrap = torch.minimum(next_q1, next_q2) * (1.0 - done.float())
    target = reward + (gamma ** chunk) * bootstrap
    if max_return is not None:
        target = target.clamp(0.0, max_return)
    return target.detach()


def critic_loss(q1: torch.Tensor, q2: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Equation (6): E[sum_j (Q_j(s_t, a_t) - y_t)^2]."""
    return ((q1 - target) ** 2 + (q2 - target) ** 2).mean()


def bc_term(action: torch.Tensor, reference: torch.Tensor,
            weight: torch.Tensor | None = None) -> torch.Tensor:
    """E ||pi(s) - a_ref||^2 per action element (mean over chunk and action dims).

    The paper writes the squared norm of the whole chunk; averaging over its C x A elements
    keeps lambda_BC = 50 on the same scale for any chunk size and action dimension.
    ``weight`` (B, C), when given, scales each action's term (the mean still divides by every
    element, so a weight of 1 everywhere is the unweighted term).
    """
    squared = (action - reference) ** 2
    if weight is not None:
        squared = squared * weight[..., None]
    return squared.mean()


def actor_loss(q1: torch.Tensor, action: torch.Tensor, reference: torch.Tensor,
               bc_coef: float, weight: torch.Tensor | None = None
               ) -> tuple[torch.Tensor, torch.Tensor]:
    """Equation (7): -E[Q_1(s, pi(s))] + lambda_BC * E||pi(s) - a_ref||^2; returns (loss, bc)."""
    bc = bc_term(action, reference, weight)
    return -q1.mean() + bc_coef * bc, bc


def smoothed_target_action(action: torch.Tensor, noise_std: float, noise_clip: float,
                           generator: torch.Generator | None = None) -> torch.Tensor:
    """TD3's target policy smoothing: clipped Gaussian noise, then clip to the action bounds."""
    noise = torch.randn(action.shape, generator=generator, device=action.device) * noise_std
    return (action + noise.clamp(-noise_clip, noise_clip)).clamp(-1.0, 1.0)


def polyak(target: torch.nn.Module, source: torch.nn.Module, tau: float) -> None:
    """target <- (1 - tau) target + tau source."""
    with torch.no_grad():
        for t, s in zip(target.parameters(), source.parameters(), strict=True):
            t.lerp_(s, tau)
