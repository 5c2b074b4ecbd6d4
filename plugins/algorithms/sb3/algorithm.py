"""`sb3/sac`, `sb3/td3`, `sb3/ppo`: stable-baselines3 learners behind the warl algorithm API.

SB3 steps its own env: ``train`` runs the stock ``external`` loop, and `learn` gets its
`EpisodeReporter`, builds the training env from it (the deployment env with its gap, reduced
to the ``state`` vector, reset on the loop's training seeds) and runs SB3's ``learn`` until
the loop's budget is spent; `SessionCallback` reports every episode to the loop, which logs,
evaluates (through `act`) and checkpoints (through `state_dict`) on its usual schedule.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from gymnasium import spaces
from stable_baselines3 import PPO, SAC, TD3
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.noise import NormalActionNoise
from stable_baselines3.common.vec_env import DummyVecEnv

from warl.core.errors import BadKwargsError, ConfigError, ContractError
from warl.core.world_model import WAOutput
from warl.plugins.algorithms.sb3.callback import BudgetSpent, SessionCallback
from warl.plugins.algorithms.sb3.config import (
    PPOConfig,
    SACConfig,
    SB3Config,
    TD3Config,
    make_config,
)
from warl.plugins.algorithms.sb3.envs import (
    SpacesOnly,
    StateObservation,
    TrainingEpisodes,
    episode_bound,
    state_of,
    state_space,
)
from warl.plugins.algorithms.sb3.state import (
    model_from_tensor,
    model_to_tensor,
    replay_from_state,
    replay_to_state,
)

if TYPE_CHECKING:
    from warl.core.training.loops.external import EpisodeReporter
    from warl.core.training.session import Session


class SB3Algorithm:
    """An SB3 algorithm as a warl algorithm; subclasses name the SB3 class and its config.

    The model exists from construction on (the loop evaluates before any training, and loads
    checkpoints before `learn`); until `learn` it is attached to an env that only has the
    right spaces.
    """

    name: ClassVar[str]
    sb3_class: ClassVar[type[BaseAlgorithm]]
    config_class: ClassVar[type[SB3Config]]
    # train.csv column -> SB3 ``train/<name>`` metric that fills it.
    loss_columns: ClassVar[dict[str, str]] = {"critic_loss": "critic_loss",
                                               "actor_loss": "actor_loss"}
    # Off-policy learners store executed (intervened) actions in their replay.
    relabels_interventions: ClassVar[bool] = True

    chunk = 1
    needs: frozenset[str] = frozenset()

    @classmethod
    def default_config(cls) -> dict[str, Any]:
        """Every setting at its default (`warl info`)."""
        return make_config(cls.config_class, {}, cls.name).to_dict()

    @classmethod
    def make_config(cls, settings: Mapping[str, Any]) -> SB3Config:
        """The settings checked (`warl train` calls this before any work)."""
        return make_config(cls.config_class, settings, cls.name)

    def __init__(self, env: Any, **settings: Any) -> None:
        self.config = make_config(self.config_class, settings, self.name)
        self.observation_space = state_space(env.observation_space)
        if not isinstance(env.action_space, spaces.Box) or len(env.action_space.shape) != 1:
            raise ContractError(f"{self.name} needs a 1-D Box action space, got "
                                f"{env.action_space}")
        self.action_space: spaces.Box = env.action_space
        self.model: Any = self._new_model()

    # --- construction -----------------------------------------------------------------------
    def _new_model(self) -> Any:
        placeholder = SpacesOnly(self.observation_space, self.action_space)
        return self.sb3_class("MlpPolicy", DummyVecEnv([lambda: placeholder]), verbose=0,
                              **self._sb3_kwargs())

    def _sb3_kwargs(self) -> dict[str, Any]:
        return self.config.sb3_kwargs()

    def gradient_updates(self) -> int:
        """Gradient steps so far (the loop's ``updates``)."""
        return int(self.model._n_updates)

    # --- acting -----------------------------------------------------------------------------
    def act(self, observation: Mapping[str, Any], wa_output: WAOutput | None = None,
            explore: bool = False) -> np.ndarray:
        """A (1, A) chunk: SB3's deterministic action, or with ``explore`` a sampled one
        (SAC, PPO; TD3's policy is deterministic, its noise is added while collecting)."""
        action, _ = self.model.predict(state_of(observation), deterministic=not explore)
        return np.asarray(action, dtype=np.float32).reshape(1, -1)

    # --- learning ---------------------------------------------------------------------------
    def train(self, session: Session) -> None:
        """SB3 steps its own env: the stock ``external`` loop."""
        from warl.core.training.loops import external

        external(session, self.learn)

    def learn(self, session: EpisodeReporter) -> None:
        """Train until ``session``'s budget is spent, from wherever its counters stand."""
        self._check_session(session)
        remaining = session.config.env_steps - session.counters.env_steps
        if remaining <= 0 or not session.budget_left():
            return
        env = self._training_env(session)
        vec_env = DummyVecEnv([lambda: env])
        model = self.model
        model.set_env(vec_env)  # also drops the saved last observation: a fresh reset
        # SB3's clock follows the loop's (they differ by the step a report interrupts).
        model.num_timesteps = session.counters.env_steps
        callback = SessionCallback(session, self)
        # The loop stops at an episode boundary (the callback); this bound only caps SB3.
        bound = remaining + (episode_bound(env) or remaining)
        try:
            model.learn(total_timesteps=bound, callback=callback, log_interval=None,
                        reset_num_timesteps=False, progress_bar=False)
            callback.flush()
        except BudgetSpent:
            pass
        finally:
            vec_env.close()

    def _check_session(self, session: EpisodeReporter) -> None:
        """Nothing to refuse by default (see `SB3PPO`)."""

    def _training_env(self, session: EpisodeReporter) -> StateObservation:
        overrides = {"reward_type": "dense"} if self.config.reward == "dense" else {}
        try:
            base = session.make_env(**overrides)
        except BadKwargsError as exc:
            raise ConfigError(f"{self.name}: reward=dense builds the env with "
                              f"reward_type='dense', which this env does not take; use "
                              f"reward=sparse ({exc})") from None
        return StateObservation(TrainingEpisodes(base, session.seed_of,
                                                 session.counters.episodes))

    # --- checkpoints ------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """SB3's zip (networks, optimizers, counters) as bytes, and the replay's arrays."""
        state: dict[str, Any] = {"algorithm": self.name, "config": _plain(self.config),
                                 "model": model_to_tensor(self.model)}
        buffer = getattr(self.model, "replay_buffer", None)
        if buffer is not None:
            state["replay"] = replay_to_state(buffer)
        return state

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        if state.get("algorithm") != self.name:
            raise ConfigError(f"{self.name}: the state is {state.get('algorithm')!r}'s")
        if state.get("config") != _plain(self.config):
            raise ConfigError(f"{self.name}: the state has config {state.get('config')}, this "
                              f"one is {_plain(self.config)}")
        self.model = model_from_tensor(self.sb3_class, state["model"], self.config.device)
        if "replay" in state:
            replay_from_state(self.model.replay_buffer, state["replay"])


def _plain(config: SB3Config) -> dict[str, Any]:
    """The config as it reads back from a checkpoint (lists, not tuples)."""
    plain: dict[str, Any] = json.loads(json.dumps(config.to_dict()))
    return plain


class SB3SAC(SB3Algorithm):
    """Soft actor-critic (SB3's ``SAC``, ``MlpPolicy``) on the state vector."""

    name = "sb3/sac"
    sb3_class = SAC
    config_class = SACConfig


class SB3TD3(SB3Algorithm):
    """TD3 (SB3's ``TD3``, ``MlpPolicy``) on the state vector, with Gaussian exploration."""

    name = "sb3/td3"
    sb3_class = TD3
    config_class = TD3Config

    def _sb3_kwargs(self) -> dict[str, Any]:
        kwargs = self.config.sb3_kwargs()
        assert isinstance(self.config, TD3Config)
        if self.config.action_noise > 0:
            dim = self.action_space.shape[0]
            kwargs["action_noise"] = NormalActionNoise(np.zeros(dim),
                                                       np.full(dim, self.config.action_noise))
        return kwargs


class SB3PPO(SB3Algorithm):
    """PPO (SB3's ``PPO``, ``MlpPolicy``) on the state vector. On-policy: its rollout is not
    checkpointed, so a resumed run starts a fresh rollout."""

    name = "sb3/ppo"
    sb3_class = PPO
    config_class = PPOConfig
    loss_columns = {"critic_loss": "value_loss", "actor_loss": "policy_gradient_loss"}
    relabels_interventions = False

    def gradient_updates(self) -> int:
        """SB3 counts PPO's epochs; a gradient step is one minibatch of an epoch."""
        assert isinstance(self.config, PPOConfig)
        minibatches = math.ceil(self.config.n_steps / self.config.batch_size)
        return int(self.model._n_updates) * minibatches

    def _check_session(self, session: EpisodeReporter) -> None:
        if session.intervenes:
            raise ConfigError(f"{self.name} is on-policy: it cannot learn from actions an "
                              f"expert executed in its place (train.intervention=expert); "
                              f"use sb3/sac or sb3/td3")
