"""WAM-RL's latent KL regulariser (equations 8-9): keep the video model's features where the
actor expects them.

The features z_t are deterministic, so each side is made a diagonal Gaussian around them:
N(z_t, Sigma_theta) for the model being fine-tuned and N(z_t^old, Sigma_old) for a frozen copy
of the pretrained one. Sigma_old is estimated once, from the frozen copy's features on the
first batch, and then fixed; Sigma_theta is an exponential moving average of the current
features' per-dimension variance (over batch and tokens), detached: the gradient flows
through the means only. Per token,

    KL = 1/2 sum_d [ log(s_old_d / s_d) + (s_d + (z_d - z_old_d)^2) / s_old_d - 1 ],

with s the variances; the loss is its mean over batch and tokens.
"""

from __future__ import annotations

from typing import Any

import torch


def diagonal_gaussian_kl(mean_p: torch.Tensor, var_p: torch.Tensor, mean_q: torch.Tensor,
                         var_q: torch.Tensor) -> torch.Tensor:
    """KL(N(mean_p, diag var_p) || N(mean_q, diag var_q)), summed over the last dimension."""
    return 0.5 * (torch.log(var_q / var_p) + (var_p + (mean_p - mean_q) ** 2) / var_q
                  - 1.0).sum(-1)


class LatentKL:
    """The regulariser's state (the two covariances) and its value on a batch.

    Args:
        decay: the EMA decay of Sigma_theta per call [0.99].
        eps: a floor on every variance, so a constant feature cannot divide by zero.
    """

    def __init__(self, decay: float = 0.99, eps: float = 1e-4) -> None:
        self.decay, self.eps = decay, eps
        self.var_old: torch.Tensor | None = None
        self.var: torch.Tensor | None = None

    @staticmethod
    def _variance(z: torch.Tensor) -> torch.Tensor:
        return z.detach().reshape(-1, z.shape[-1]).var(dim=0, unbiased=False)

    def __call__(self, z: torch.Tensor, z_old: torch.Tensor) -> torch.Tensor:
        """The mean KL over batch and tokens of features (B, L, D) against the frozen copy's."""
        if self.var_old is None:
            self.var_old = self._variance(z_old).clamp(min=self.eps)
            self.var = self.var_old.clone()
        assert self.var is not None
        self.var = self.decay * self.var + (1 - self.decay) * self._variance(z)
        var = self.var.clamp(min=self.eps).to(z)
        return diagonal_gaussian_kl(z, var.expand_as(z), z_old.detach(),
                                    self.var_old.to(z).expand_as(z)).mean()

    def state_dict(self) -> dict[str, Any]:
        return {"var_old": self.var_old, "var": self.var}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.var_old, self.var = state["var_old"], state["var"]
