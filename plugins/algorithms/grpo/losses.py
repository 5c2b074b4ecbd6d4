"""Masked GRPO (WoVR section 3.4; GRPO as in DeepSeekMath) on action chunks, written out.

For a group of G trajectories from one initial state with returns R_1..R_G:

    A_i = R_i - mean_j R_j                                (optionally / std_j R_j)
    r_{i,t} = pi_theta(a_{i,t} | s_{i,t}) / pi_old(a_{i,t} | s_{i,t})
    L = - mean_i [ 1/|T_i| sum_{t in T_i} min(r_{i,t} A_i, clip(r_{i,t}, 1-eps, 1+eps) A_i) ]

where T_i are trajectory i's decisions up to and including its first success (the rest are
masked) and a_{i,t} is the whole (C, A) chunk, its log-probability the sum over its actions.
"""

from __future__ import annotations

import torch


def group_advantages(returns: torch.Tensor, groups: torch.Tensor,
                     normalize: bool = False, eps: float = 1e-6) -> torch.Tensor:
    """A_i = R_i - mean of R over i's group (per element; ``groups`` holds group ids)."""
    n = int(groups.max()) + 1 if len(groups) else 0
    ones = torch.ones_like(returns)
    count = torch.zeros(n, device=returns.device).index_add_(0, groups, ones)
    mean = torch.zeros(n, device=returns.device).index_add_(0, groups, returns) / count
    advantage = returns - mean[groups]
    if normalize:
        var = torch.zeros(n, device=returns.device).index_add_(0, groups, advantage ** 2) / count
        advantage = advantage / (var[groups].sqrt() + eps)
    return advantage


def discounted_returns(reward: torch.Tensor, steps: torch.Tensor, trajectory: torch.Tensor,
                       gamma: float) -> torch.Tensor:
    """R_i = sum_t gamma^(t-1) r_t per trajectory (rows are decisions in trajectory order,
    ``reward`` each chunk's summed reward, ``steps`` its executed steps); a chunk's reward
    counts at its last step."""
    n = int(trajectory.max()) + 1 if len(trajectory) else 0
    total = torch.cumsum(steps, 0)
    _, counts = torch.unique_consecutive(trajectory, return_counts=True)
    first = torch.cumsum(counts, 0) - counts
    ends = total - (total[first] - steps[first])[trajectory]  # steps so far in the trajectory
    weights = torch.pow(torch.full_like(reward, gamma), (ends - 1).clamp(min=0).to(reward))
    return torch.zeros(n, device=reward.device).index_add_(0, trajectory, weights * reward)


def masked_grpo_loss(log_prob: torch.Tensor, old_log_prob: torch.Tensor,
                     advantage: torch.Tensor, valid: torch.Tensor, trajectory: torch.Tensor,
                     clip: float) -> tuple[torch.Tensor, dict[str, float]]:
    """The loss above over decisions (each a row); ``trajectory`` holds trajectory ids,
    ``valid`` the mask. Returns (loss, metrics: clipped fraction, mean ratio)."""
    ratio = torch.exp(log_prob - old_log_prob)
    surrogate = torch.minimum(ratio * advantage,
                              ratio.clamp(1.0 - clip, 1.0 + clip) * advantage)
    mask = valid.float()
    n = int(trajectory.max()) + 1
    per_trajectory = torch.zeros(n, device=log_prob.device).index_add_(
        0, trajectory, surrogate * mask)
    length = torch.zeros(n, device=log_prob.device).index_add_(0, trajectory, mask)
    has_steps = length > 0
    loss = -(per_trajectory[has_steps] / length[has_steps]).mean()
    with torch.no_grad():
        clipped = ((ratio - 1.0).abs() > clip).float()
        metrics = {"clip_fraction": float((clipped * mask).sum() / mask.sum().clamp(min=1)),
                   "ratio": float((ratio * mask).sum() / mask.sum().clamp(min=1))}
    return loss, metrics
