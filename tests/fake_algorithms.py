"""Fake algorithms (named as fakes) that drive each stock loop on a real MetaWorld env without
a WA model: a linear policy on the state vector, updated by least squares toward the executed
actions. They exist to test the loops' contracts, not to learn anything.

`FakeWorldModel` and `FakeImaginedEnv` stand in for the world-model env that world-model
plugins provide: a toy point-mass "imagination" the imagination loop can roll out in.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from warl.core.training.loops import imagination, off_policy, on_policy, rounds

STATE_DIM = 39  # MetaWorld's state vector


class LinearPolicy:
    """chunk = tanh(W state) repeated C times, plus Gaussian noise while exploring; on-policy
    fakes return the noise as an extra."""

    def __init__(self, weight: torch.Tensor, chunk: int, extras: bool) -> None:
        self.weight, self.chunk, self.extras = weight, chunk, extras
        self.rng = np.random.default_rng(0)

    def reseed(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)

    def load_policy_state(self, state: Mapping[str, Any]) -> None:
        self.weight.copy_(state["weight"])

    def features(self, observation: Mapping[str, Any], wa_output: Any) -> dict[str, np.ndarray]:
        return {"state": np.asarray(observation["state"], np.float32)[:STATE_DIM]}

    def act(self, observation: Mapping[str, Any], wa_output: Any = None,
            explore: bool = False) -> Any:
        state = torch.as_tensor(self.features(observation, wa_output)["state"])
        action = torch.tanh(self.weight @ state).numpy()
        chunk = np.repeat(action[None], self.chunk, 0).astype(np.float32)
        if not explore:
            return chunk
        noise = self.rng.normal(0.0, 0.3, chunk.shape).astype(np.float32)
        out = np.clip(chunk + noise, -1, 1)
        return (out, {"noise": noise}) if self.extras else out


class _FakeBase:
    """Shared parts of the fakes (the fakes' own code; real algorithms compose learners)."""

    needs: frozenset[str] = frozenset()
    chunk = 4
    batch_size = 8
    extras = False

    def __init__(self, env: Any, **settings: Any) -> None:
        self.action_dim = int(env.action_space.shape[0])
        torch.manual_seed(0)
        self.weight = torch.zeros(self.action_dim, STATE_DIM)
        self.updates = 0
        self.seen: list[str] = []  # what update() was handed, for the tests
        self.history = np.zeros(3)  # a numpy array in the state_dict, as plugins may have

    def make_policy(self) -> LinearPolicy:
        return LinearPolicy(self.weight.clone(), self.chunk, self.extras)

    def policy_state(self) -> dict[str, torch.Tensor]:
        return {"weight": self.weight.clone()}

    def act(self, observation: Mapping[str, Any], wa_output: Any = None,
            explore: bool = False) -> Any:
        return LinearPolicy(self.weight, self.chunk, False).act(observation, wa_output, False)

    def update(self, batch: Any) -> dict[str, float]:
        state, action = batch["obs", "state"].float(), batch["action"][:, 0].float()
        error = torch.tanh(state @ self.weight.T) - action
        self.weight -= 1e-3 * error.T @ state / len(state)
        self.updates += 1
        self.history[self.updates % 3] += 1
        self.seen.append("update")
        return {"fake_loss": float((error ** 2).mean())}

    def state_dict(self) -> dict[str, Any]:
        return {"weight": self.weight.clone(), "updates": self.updates,
                "history": self.history.copy()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.weight = state["weight"].clone()
        self.updates = int(state["updates"])
        self.history = np.asarray(state["history"])


class FakeOffPolicy(_FakeBase):
    utd = 1

    def train(self, session: Any) -> None:
        off_policy(session, self)


class FakeRounds(_FakeBase):
    episodes_per_round = 2
    updates_per_round = 3

    def train(self, session: Any) -> None:
        rounds(session, self)


class FakeOnPolicy(_FakeBase):
    group_size = 2
    groups_per_update = 2
    extras = True
    imagine = False

    def update_on_policy(self, batch: Any) -> dict[str, float]:
        for key in ("group", "trajectory", "decision", "episode_return", "valid"):
            assert key in batch.keys(), key  # noqa: SIM118 (a TensorDict)
        assert batch["extras", "noise"].shape[1:] == (self.chunk, self.action_dim)
        self.seen.append(f"groups={int(batch['group'].max()) + 1}")
        return {**self.update(batch), "updates": 1}

    def train(self, session: Any) -> None:
        if self.imagine:
            imagination(session, self, FakeImaginedEnv(session.world_model))
        else:
            on_policy(session, self)


class FakeImagination(FakeOnPolicy):
    needs = frozenset({"world_model"})
    imagine = True

    def __init__(self, env: Any, world_model: Any, **settings: Any) -> None:
        super().__init__(env, **settings)
        self.world_model = world_model


class FakeWorldModel:
    """A fake world model: a point mass the imagined env integrates."""

    def __init__(self, env: str | None = None) -> None:
        self.env_id, self.dt = env, 0.05


class FakeImaginedEnv(gym.Env[Any, np.ndarray]):
    """A fake world-model env: MetaWorld-shaped observations, 40-step episodes, success when
    the point is within 0.1 of the goal."""

    def __init__(self, model: FakeWorldModel) -> None:
        self.model = model
        self.observation_space = gym.spaces.Dict(
            {"state": gym.spaces.Box(-np.inf, np.inf, (STATE_DIM,), np.float32)})
        self.action_space = gym.spaces.Box(-1, 1, (4,), np.float32)
        self.t, self.point = 0, np.zeros(3)

    def _obs(self) -> dict[str, np.ndarray]:
        state = np.zeros(STATE_DIM, np.float32)
        state[:3] = self.point
        return {"state": state}

    def reset(self, *, seed: int | None = None, options: Any = None) -> tuple[Any, dict]:
        super().reset(seed=seed)
        self.t, self.point = 0, self.np_random.uniform(-0.5, 0.5, 3)
        return self._obs(), {"instruction": "reach the origin (imagined)"}

    def step(self, action: np.ndarray) -> tuple[Any, float, bool, bool, dict]:
        self.t += 1
        self.point = self.point + self.model.dt * np.asarray(action[:3])
        success = bool(np.linalg.norm(self.point) < 0.1)
        return self._obs(), float(success), success, self.t >= 40, {"success": success}


def fake_registry() -> Any:
    """The built-ins plus the fakes under ``fake/*``."""
    from tests.conftest import plugin_module
    from warl import hookimpl
    from warl.core.registry import create_registry

    def algorithms() -> list[dict[str, Any]]:
        return [{"id": f"fake/{name}", "kind": "algorithm",
                 "target": f"tests.fake_algorithms:{cls}", "summary": f"A fake ({name})."}
                for name, cls in (("off-policy", "FakeOffPolicy"), ("rounds", "FakeRounds"),
                                  ("on-policy", "FakeOnPolicy"),
                                  ("imagination", "FakeImagination"), ("legacy", "FakeLegacy"),
                                  ("nothing", "FakeNothing"), ("wa-tuner", "FakeWATuner"))]

    def world_models() -> list[dict[str, Any]]:
        return [{"id": "fake/world-model", "kind": "world_model",
                 "target": "tests.fake_algorithms:FakeWorldModel",
                 "summary": "A fake world model (a point mass)."}]

    module = plugin_module("fakes", warl_register_algorithms=hookimpl(algorithms),
                           warl_register_world_models=hookimpl(world_models))
    return create_registry(plugins={"fakes": module}, environ={"WARL_PLUGINS": "warl,fakes"})



class FakeLegacy(_FakeBase):
    """A warl 0.1 plugin: ``cadence`` and no ``train``."""

    cadence = "utd"
    utd = 1


class FakeNothing:
    """Neither ``train`` nor ``evaluation_only``: nothing would train it."""

    needs: frozenset[str] = frozenset()

    def __init__(self, env: Any, **settings: Any) -> None:
        pass

    def act(self, observation: Any, wa_output: Any = None, explore: bool = False) -> Any:
        return np.zeros((1, 4), np.float32)


class FakeWATuner(FakeOffPolicy):
    """Fine-tunes its WA model (a fake update: a step on one of its tensors), as WAM-RL will:
    the rollout side, the checkpoint and `warl eval --run` must all see the new weights."""

    needs = frozenset({"wa_model"})
    trains_wa_model = True
    chunk = 4

    def __init__(self, env: Any, wa_model: Any, **settings: Any) -> None:
        super().__init__(env, **settings)
        self.wa_model = wa_model
        self.tuned = next(iter(wa_model.parameters()))

    def update(self, batch: Any) -> dict[str, float]:
        with torch.no_grad():
            self.tuned.add_(0.01)
        return super().update(batch)
