"""HG-DAgger (Kelly et al., ICRA 2019) on a WA model: the novice is a copy of the WA action
head; a gating expert (in simulation the scripted expert behind a `DeviationGate`; on a robot
a person through the intervention wrapper) takes over when it judges the novice unsafe and
hands back once it has recovered. Only expert-controlled segments join the aggregate dataset,
which starts as the demonstrations; after each round the novice is retrained on it by BC.

``train`` is the stock ``rounds`` loop, keeping only the expert's segments of each episode;
the intervention rate of each round is written to ``rounds.csv``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from warl.core.envs.intervention import DeviationGate
from warl.core.errors import ConfigError
from warl.core.training.loops import bc_warmup, rounds
from warl.core.training.loops.ingest import intervened_chunks
from warl.core.training.session import Session
from warl.core.world_model import WAOutput, WorldActionModel, action_head_of
from warl.plugins.algorithms.hg_dagger.config import make_config
from warl.plugins.algorithms.wa_head.policy import HeadPolicy, bc_batch

NAME = "hg-dagger"


def expert_labels(batch: Any) -> torch.Tensor:
    """(B, C): which actions are the expert's: every action of a demonstration, and the
    interventions of the novice's episodes."""
    intervened: torch.Tensor = batch["intervened"].bool()
    return intervened | batch["demo"].reshape(-1, 1).bool()


class HGDAgger:
    """The `hg-dagger` algorithm plugin; see `HGDAggerConfig` for every setting."""

    needs = frozenset({"wa_model", "demos", "intervention"})
    demo_fraction = None  # one aggregate dataset, sampled uniformly

    def __init__(self, env: Any, wa_model: WorldActionModel, **settings: Any) -> None:
        self.config = c = make_config(settings)
        if not 1 <= c.chunk <= wa_model.horizon:
            raise ConfigError(f"{NAME}: chunk must be between 1 and the WA model's horizon "
                              f"({wa_model.horizon}), got {c.chunk}")
        self.chunk, self.batch_size = c.chunk, c.batch_size
        self.episodes_per_round, self.updates_per_round = c.episodes_per_round, \
            c.updates_per_round
        self.device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        torch.manual_seed(c.seed)
        self.novice = action_head_of(wa_model, NAME)
        self.novice.to(self.device)  # type: ignore[attr-defined]
        self.optimizer = torch.optim.Adam(self.novice.parameters(), lr=c.lr)
        self.generator = torch.Generator(device=self.device).manual_seed(c.seed)
        self.updates = 0
        self._policy = HeadPolicy(self.novice, c.chunk, c.seed, NAME)

    make_config = staticmethod(make_config)

    @staticmethod
    def default_config() -> dict[str, Any]:
        """Every setting at its default (`warl info`)."""
        return make_config({}).to_dict()

    def make_gate(self) -> DeviationGate:
        c = self.config
        return DeviationGate(c.gate_threshold, c.gate_release, c.gate_min_steps)

    # --- acting -----------------------------------------------------------------------------
    def features(self, observation: Mapping[str, Any], wa_output: WAOutput | None) -> Any:
        return self._policy.features(observation, wa_output)

    def act(self, observation: Mapping[str, Any], wa_output: WAOutput | None = None,
            explore: bool = False) -> Any:
        return self._policy.act(observation, wa_output, explore)

    def make_policy(self) -> HeadPolicy:
        import copy

        return HeadPolicy(copy.deepcopy(self.novice), self.chunk, self.config.seed, NAME)

    def policy_state(self) -> dict[str, torch.Tensor]:
        return {k: v.detach().clone() for k, v in self.novice.state_dict().items()}

    # --- learning ---------------------------------------------------------------------------
    def bc_loss(self, batch: Any) -> torch.Tensor:
        latents, state, target, mask = bc_batch(batch, expert_labels(batch))
        return self.novice.bc_loss(latents, state, target, mask, self.generator)

    def update(self, batch: Any) -> dict[str, float]:
        """One BC update of the novice on the aggregate dataset."""
        loss = self.bc_loss(batch.to(self.device))
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.updates += 1
        return {"bc": float(loss.detach())}

    def warmup_step(self, batch: Any) -> dict[str, float]:
        """BC on the demonstrations before the first round."""
        return {"warmup_bc": self.update(batch)["bc"]}

    def train(self, session: Session) -> None:
        """BC on the demonstrations, then rounds; only expert-controlled segments join the
        aggregate dataset."""
        bc_warmup(session, self.warmup_step, self.config.bc_warmup_steps, self.batch_size)
        rounds(session, self, keep=intervened_chunks)

    # --- state ------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {"config": self.config.to_dict(), "novice": self.novice.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "generator": self.generator.get_state(), "updates": self.updates}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        if dict(state.get("config", {})) != self.config.to_dict():
            raise ConfigError(f"{NAME}: the saved state was built with other settings: "
                              f"{state.get('config')} vs {self.config.to_dict()}")
        self.novice.load_state_dict(state["novice"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.generator.set_state(state["generator"])
        self.updates = int(state["updates"])
