"""HALO-WA's RL state s_t = (s^r_t, a~_{t:t+C-1}, Z_t) (section 3.1) and its acting policy.

RL-token acts on the same RL state (it differs only in how the actor reads Z), so both use
`rl_state`, `network_inputs` and `ActorPolicy`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from warl.core.envs.contract import STATE_KEY
from warl.core.errors import ContractError
from warl.core.training.learners.exploration import explored
from warl.core.world_model import WAOutput
from warl.plugins.algorithms.halo_wa.latents import memory_of


def rl_state(chunk: int, latent_source: str, observation: Mapping[str, Any],
             wa_output: WAOutput, camera: str | None) -> dict[str, np.ndarray]:
    """s_t as stored in replay: ``state``, ``reference`` (C, A) and ``memory`` unless none."""
    fields = {
        "state": np.asarray(observation[STATE_KEY], dtype=np.float32),
        "reference": wa_output.ref_actions[0, :chunk].detach().cpu().numpy()
        .astype(np.float32),
    }
    memory = memory_of(latent_source, observation, wa_output, camera)
    if memory is not None:
        fields["memory"] = memory
    return fields


def network_inputs(fields: Mapping[str, Any], device: torch.device, batch: bool = False
                   ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """(state, reference, memory) tensors of RL states (numpy when acting, replay tensors
    when learning), on ``device`` without copies where none is needed; ``batch`` adds the
    batch axis to one RL state."""
    def get(key: str) -> torch.Tensor | None:
        if key not in fields:
            return None
        t = torch.as_tensor(fields[key], device=device)
        return t[None] if batch else t

    state, reference = get("state"), get("reference")
    assert state is not None and reference is not None
    return state.float(), reference.float(), get("memory")


class ActorPolicy:
    """The actor alone, for rollouts: a worker's copy, refreshed from `policy_state`. It acts
    deterministically, with TD3's Gaussian exploration noise while collecting."""

    def __init__(self, actor: torch.nn.Module, chunk: int, latent_source: str,
                 exploration_noise: float, seed: int, camera: str | None, who: str,
                 exploration_shape: str = "action") -> None:
        self.actor, self.chunk, self.latent_source = actor, chunk, latent_source
        self.noise, self.seed, self.camera, self.who = exploration_noise, seed, camera, who
        self.shape = exploration_shape
        self.actor.eval()
        self.rng = np.random.default_rng(seed)

    def reseed(self, seed: int) -> None:
        self.rng = np.random.default_rng([self.seed, seed])

    def load_policy_state(self, state: Mapping[str, Any]) -> None:
        self.actor.load_state_dict(state)

    def features(self, observation: Mapping[str, Any],
                 wa_output: WAOutput | None) -> dict[str, np.ndarray]:
        if wa_output is None:
            raise ContractError(f"{self.who}'s RL state needs a WA model's output; none was "
                                f"given")
        return rl_state(self.chunk, self.latent_source, observation, wa_output, self.camera)

    def act(self, observation: Mapping[str, Any], wa_output: WAOutput | None = None,
            explore: bool = False) -> np.ndarray:
        return self.act_on(self.features(observation, wa_output), explore)

    def act_on(self, fields: Mapping[str, np.ndarray], explore: bool = False) -> np.ndarray:
        """The chunk for an RL state already computed (the engine computes it once)."""
        device = next(self.actor.parameters()).device
        with torch.no_grad():
            chunk = self.actor(*network_inputs(fields, device, batch=True))[0].cpu().numpy()
        return explored(chunk, self.rng, self.noise if explore else 0.0, self.shape)
