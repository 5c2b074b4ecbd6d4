"""WAM-RL's online video SFT (section 3.3, equation 10): L_WM = L_video + lambda_KL L_KL.

The video generator of the joint model is fine-tuned on the frames of successful
trajectories (the current frame and the K frames that followed it), with the latent KL
against a frozen copy of the pretrained generator (`kl.LatentKL`). Only the generator moves:
the frame autoencoder stays frozen, so the reward's decoded frames and the state tokens keep
their meaning, and the actor is trained by the policy gradient, not here. Because the actor
reads the generator's features, every SFT step also changes what it does (a test).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import torch

from warl.plugins.algorithms.wam_rl.kl import LatentKL


class VideoSFT:
    """One optimizer over ``model.dit`` and the KL's state.

    Args:
        model: the joint model (`warl/wam-small`'s `WAMSmall`, or one with ``dit``,
            ``video_loss`` and ``imagine``), fine-tuned in place.
        lr: AdamW learning rate [1e-4: a tenth of pretraining's, it refines].
        kl_weight: lambda_KL.
        ema_decay: Sigma_theta's EMA decay.
        max_grad_norm: gradient clipping.
    """

    def __init__(self, model: Any, lr: float, kl_weight: float, ema_decay: float,
                 max_grad_norm: float = 1.0) -> None:
        self.model, self.kl_weight, self.max_grad_norm = model, kl_weight, max_grad_norm
        self.frozen = copy.deepcopy(model).requires_grad_(False).eval()
        self.kl = LatentKL(ema_decay)
        self.parameters = list(model.dit.parameters())
        self.optimizer = torch.optim.AdamW(self.parameters, lr=lr, weight_decay=0.0)

    def step(self, current: torch.Tensor, future: torch.Tensor,
             instructions: Sequence[str], generator: torch.Generator | None = None
             ) -> dict[str, float]:
        """One gradient step on latents (B, N, D) and their futures (B, K, N, D)."""
        model = self.model
        for p in self.parameters:
            p.requires_grad_(True)
        model.train()
        video = model.video_loss(current, future, instructions, generator)
        _, z = model.imagine(current, instructions)
        with torch.no_grad():
            _, z_old = self.frozen.imagine(current, instructions)
        kl = self.kl(z, z_old)
        loss = video + self.kl_weight * kl
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.parameters, self.max_grad_norm)
        self.optimizer.step()
        model.eval()
        for p in self.parameters:
            p.requires_grad_(False)
        return {"video_loss": float(video.detach()), "kl": float(kl.detach())}

    def state_dict(self) -> dict[str, Any]:
        return {"frozen": self.frozen.state_dict(), "kl": self.kl.state_dict(),
                "optimizer": self.optimizer.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.frozen.load_state_dict(state["frozen"])
        self.kl.load_state_dict(state["kl"])
        self.optimizer.load_state_dict(state["optimizer"])
