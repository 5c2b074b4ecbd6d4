"""A policy that is a fine-tunable copy of the WA action head (`warl.core.world_model.ActionHead`).

Its RL state holds what the head reads (the WA latents Z and the raw ``state``) plus the WA
reference chunk split into the executed part (C actions) and the tail (H - C): behaviour
cloning fills the head's H-step target with the executed actions followed by the WA's own
tail, and counts only the executed positions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from warl.core.envs.contract import STATE_KEY
from warl.core.errors import ContractError
from warl.core.world_model import ActionHead, WAOutput


def head_features(observation: Mapping[str, Any], wa_output: WAOutput | None,
                  chunk: int, who: str) -> dict[str, np.ndarray]:
    """``state``, ``latents`` (N, D), ``reference`` (C, A) and ``tail`` (H - C, A)."""
    if wa_output is None:
        raise ContractError(f"{who} acts on a WA model's output; none was given")
    reference = wa_output.ref_actions[0].detach().cpu().numpy().astype(np.float32)
    return {
        "state": np.asarray(observation[STATE_KEY], dtype=np.float32),
        "latents": wa_output.latents[0].detach().cpu().numpy().astype(np.float32),
        "reference": reference[:chunk],
        "tail": reference[chunk:],
    }


def head_chunk(head: ActionHead, fields: Mapping[str, Any], chunk: int,
               generator: torch.Generator | None) -> np.ndarray:
    """The head's first C actions for one RL state."""
    device = next(iter(head.parameters())).device
    latents = torch.as_tensor(fields["latents"], device=device)[None]
    state = torch.as_tensor(fields["state"], device=device)[None]
    out: np.ndarray = head.sample(latents, state, generator)[0, :chunk].cpu().numpy()
    return out.astype(np.float32)


def bc_batch(batch: Any, select: torch.Tensor | None = None
             ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(latents, state, H-step target, mask) of a replay batch: the target is the executed
    chunk followed by the WA tail; the mask keeps actions that ran (and ``select`` (B, C))."""
    executed = batch["action"].float()
    chunk = executed.shape[1]
    ran = torch.arange(chunk, device=executed.device)[None, :] < batch["steps"].reshape(-1, 1)
    if select is not None:
        ran = ran & select
    tail = batch["obs", "tail"].float()
    target = torch.cat([executed, tail], dim=1)
    mask = torch.cat([ran, torch.zeros(tail.shape[:2], dtype=torch.bool,
                                       device=ran.device)], dim=1)
    return batch["obs", "latents"].float(), batch["obs", "state"].float(), target, mask


def episode_seed(base: int, seed: int) -> int:
    """A policy's sampling seed for the episode with seed ``seed``, from its own ``base``:
    one stream per (base, episode), so that rollouts are reproducible one by one."""
    return int(np.random.SeedSequence([base, seed]).generate_state(1)[0])


class HeadPolicy:
    """Acts with an action-head copy: the head's sample, its first C actions. Sampling noise
    is reseeded per episode, as the WA model's own, so rollouts are reproducible."""

    def __init__(self, head: ActionHead, chunk: int, seed: int, who: str) -> None:
        self.head, self.chunk, self.seed, self.who = head, chunk, seed, who
        device = next(iter(head.parameters())).device
        self.generator = torch.Generator(device=device).manual_seed(seed)

    def reseed(self, seed: int) -> None:
        self.generator.manual_seed(episode_seed(self.seed, seed))

    def load_policy_state(self, state: Mapping[str, Any]) -> None:
        self.head.load_state_dict(state)

    def features(self, observation: Mapping[str, Any],
                 wa_output: WAOutput | None) -> dict[str, np.ndarray]:
        return head_features(observation, wa_output, self.chunk, self.who)

    def act(self, observation: Mapping[str, Any], wa_output: WAOutput | None = None,
            explore: bool = False) -> np.ndarray:
        return self.act_on(self.features(observation, wa_output), explore)

    def act_on(self, fields: Mapping[str, np.ndarray], explore: bool = False) -> np.ndarray:
        """The chunk for an RL state already computed (the engine computes it once)."""
        return head_chunk(self.head, fields, self.chunk, self.generator)
