"""``warl new-plugin``: write a pip-installable plugin package with one hookimpl and a test."""

from __future__ import annotations

import keyword
import re
from pathlib import Path
from string import Template

from warl.core.errors import ConfigError
from warl.core.spec import KINDS

HOOKS = {
    "env": "warl_register_envs",
    "algorithm": "warl_register_algorithms",
    "world_model": "warl_register_world_models",
    "reward": "warl_register_rewards",
}

PYPROJECT = Template('''[build-system]
requires = ["setuptools>=69"]
build-backend = "setuptools.build_meta"

[project]
name = "$dist"
version = "0.1.0"
description = "A warl $kind plugin."
requires-python = ">=3.10"
dependencies = ["warl"]

[project.entry-points."warl.plugins"]
$name = "$pkg.register"

[tool.setuptools]
packages = ["$pkg"]
''')

REGISTER = Template('''"""Registration module: returns specs only and imports nothing heavy."""

from warl import hookimpl


@hookimpl
def $hook():
    return [
        {
            "id": "$name/$impl",
            "kind": "$kind",
            "target": "$pkg.$impl_module:$cls",
            "summary": "$summary",
            "tags": ["example"],
            "defaults": $defaults,
        }
    ]
''')

IMPLS = {
    "env": ("""\"\"\"A 2-D point that must reach a goal: a minimal env following the warl contract.

Everything `warl check` and `warl train` ask of an env: a flat Dict observation with a float32
``state``; ``info["success"]`` on every step and ``info["instruction"]`` at reset; a sparse
reward; ``render_mode="rgb_array"`` frames for videos; and (optional) a scripted expert for
demonstrations and interventions.
\"\"\"

import gymnasium as gym
import numpy as np
from gymnasium import spaces


class $cls(gym.Env):
    metadata = {"render_modes": ["rgb_array"], "render_fps": 20}

    def __init__(self, max_episode_steps: int = 50, tolerance: float = 0.1,
                 render_mode: str | None = None):
        self.max_episode_steps = max_episode_steps
        self.tolerance = tolerance
        self.render_mode = render_mode
        self.observation_space = spaces.Dict(
            {"state": spaces.Box(-2.0, 2.0, (4,), dtype=np.float32)}
        )
        self.action_space = spaces.Box(-1.0, 1.0, (2,), dtype=np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)  # seeds self.np_random: same seed, same episode
        self._pos = self.np_random.uniform(-1, 1, 2).astype(np.float32)
        self._goal = self.np_random.uniform(-1, 1, 2).astype(np.float32)
        self._t = 0
        return self._obs(), {"success": False, "instruction": "Move the point to the goal."}

    def step(self, action):
        action = np.clip(np.asarray(action, dtype=np.float32), -1, 1)
        self._pos = np.clip(self._pos + 0.1 * action, -1, 1).astype(np.float32)
        self._t += 1
        success = bool(np.linalg.norm(self._pos - self._goal) < self.tolerance)
        truncated = not success and self._t >= self.max_episode_steps
        return self._obs(), float(success), success, truncated, {"success": success}

    def render(self):
        \"\"\"A 64 x 64 top view: the point in red, the goal in green.\"\"\"
        frame = np.full((64, 64, 3), 255, np.uint8)
        for xy, colour in ((self._goal, (0, 160, 0)), (self._pos, (200, 0, 0))):
            col, row = ((np.asarray(xy) + 1) * 31.5).astype(int)
            frame[max(0, 63 - row - 2):64 - row + 1, max(0, col - 2):col + 3] = colour
        return frame

    def scripted_expert(self):
        \"\"\"Heads straight for the goal (demonstrations, interventions).\"\"\"
        return lambda obs: np.clip(10 * (obs["state"][2:] - obs["state"][:2]), -1, 1)

    def _obs(self):
        return {"state": np.concatenate([self._pos, self._goal]).astype(np.float32)}
""", "{'max_episode_steps': 50}"),
    "algorithm": ("""\"\"\"Reward-weighted regression (Peters and Schaal, 2007) on action chunks:
a minimal trainable warl algorithm, to grow your own from.

The contract (docs/plugins.md): ``needs``, ``act``, ``train(session)``, ``state_dict`` and
``load_state_dict``. ``train`` runs a stock loop, here ``rounds``: a round of episodes with
one fixed policy, then updates on everything collected, so the loop asks for the members of
its `Rounds` protocol too (``make_policy``, ``policy_state``, ``update``, ``batch_size``,
``episodes_per_round``, ``updates_per_round``).
\"\"\"

import copy

import numpy as np
import torch

from warl.core.training.loops import rounds


class GaussianPolicy:
    \"\"\"What a rollout worker runs: tanh(W state) repeated over the chunk, plus Gaussian
    noise while exploring. The RL state stored in replay is the ``state`` vector.\"\"\"

    def __init__(self, linear, chunk, noise, seed):
        self.linear, self.chunk, self.noise, self.seed = linear, chunk, noise, seed
        self.rng = np.random.default_rng(seed)

    def reseed(self, seed):
        self.rng = np.random.default_rng([self.seed, seed])

    def load_policy_state(self, state):
        self.linear.load_state_dict(state)

    def features(self, observation, wa_output):
        return {"state": np.asarray(observation["state"], np.float32)}

    def act(self, observation, wa_output=None, explore=False):
        state = torch.as_tensor(self.features(observation, wa_output)["state"])
        with torch.no_grad():
            action = torch.tanh(self.linear(state)).numpy()
        chunk = np.repeat(action[None], self.chunk, 0)
        if explore:
            chunk = chunk + self.rng.normal(0.0, self.noise, chunk.shape)
        return np.clip(chunk, -1, 1).astype(np.float32)


class $cls:
    needs = frozenset()  # no WA model, demonstrations or interventions

    def __init__(self, env, chunk: int = 4, episodes_per_round: int = 4,
                 updates_per_round: int = 20, batch_size: int = 64, lr: float = 1e-2,
                 noise: float = 0.3, temperature: float = 0.2, seed: int = 0):
        self.chunk, self.batch_size = chunk, batch_size
        self.episodes_per_round, self.updates_per_round = episodes_per_round, updates_per_round
        self.noise, self.temperature, self.seed = noise, temperature, seed
        torch.manual_seed(seed)
        state_dim = env.observation_space["state"].shape[0]
        self.linear = torch.nn.Linear(state_dim, env.action_space.shape[0])
        self.optimizer = torch.optim.Adam(self.linear.parameters(), lr=lr)
        self.updates = 0

    def train(self, session):
        rounds(session, self)

    def make_policy(self):
        return GaussianPolicy(copy.deepcopy(self.linear), self.chunk, self.noise, self.seed)

    def policy_state(self):
        return {k: v.detach().clone() for k, v in self.linear.state_dict().items()}

    def act(self, observation, wa_output=None, explore=False):
        return GaussianPolicy(self.linear, self.chunk, self.noise, self.seed).act(
            observation, wa_output, explore)

    def update(self, batch):
        \"\"\"Regress the first action of each chunk, each transition weighted by
        exp(episode success / temperature): successful episodes count more.\"\"\"
        state, target = batch["obs", "state"].float(), batch["action"][:, 0].float()
        weight = torch.softmax(batch["success"].float() / self.temperature, 0)
        loss = (weight * ((torch.tanh(self.linear(state)) - target) ** 2).sum(-1)).sum()
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        self.updates += 1
        return {"rwr_loss": float(loss.detach())}

    def state_dict(self):
        return {"linear": self.linear.state_dict(), "optimizer": self.optimizer.state_dict(),
                "updates": self.updates}

    def load_state_dict(self, state):
        self.linear.load_state_dict(state["linear"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.updates = int(state["updates"])
""", "{'chunk': 4}"),
    "world_model": ('''"""A world-action model template: put your model's inference in `infer`."""

import numpy as np


class $cls:
    def __init__(self, horizon: int = 8, action_dim: int = 4):
        self.horizon = horizon
        self.action_dim = action_dim

    def infer(self, observations, instruction):
        batch = len(observations["state"])
        return {
            "ref_actions": np.zeros((batch, self.horizon, self.action_dim), np.float32),
            "latents": np.asarray(observations["state"], np.float32)[:, None, :],
        }
''', "{'horizon': 8}"),
    "reward": ('''"""A reward model template: 1 when the observation shows success."""

import numpy as np


class $cls:
    def __init__(self, threshold: float = 0.05):
        self.threshold = threshold

    def __call__(self, observations):
        state = np.asarray(observations["state"], np.float32)
        return (np.abs(state).sum(-1) < self.threshold).astype(np.float32)
''', "{'threshold': 0.05}"),
}

TEST = Template('''"""Checks the plugin is discovered through its entry point and builds."""

import warl
from warl.core.registry import create_registry


def test_registered_and_builds():
    registry = create_registry()
    assert "$name/$impl" in registry.ids("$kind"), registry.failures
    assert not [f for f in registry.failures if f.plugin == "$name"]
    assert registry.make("$name/$impl"$make_args) is not None


def test_version():
    assert warl.__version__
''')


def _identifier(name: str) -> str:
    pkg = re.sub(r"\\W", "_", name.replace("-", "_")).lower()
    if not pkg.isidentifier() or keyword.iskeyword(pkg):
        raise ConfigError(f"cannot derive a Python package name from {name!r}; use letters and '-'")
    return pkg


def scaffold_plugin(name: str, kind: str, parent: Path) -> Path:
    """Create ``parent/<name>`` and return it; refuses to overwrite an existing directory."""
    if kind not in KINDS:
        raise ConfigError(f"--kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if not re.fullmatch(r"[a-z][a-z0-9-]*", name):
        raise ConfigError(f"plugin name {name!r}: use lowercase letters, digits and '-'")
    root = parent / name
    if root.exists():
        raise ConfigError(f"{root} already exists; pick another name or directory")
    pkg = _identifier(name)
    impl = {"env": "reach", "algorithm": "rwr", "world_model": "zero", "reward": "near"}[kind]
    cls = {"env": "PointReachEnv", "algorithm": "RewardWeightedRegression",
           "world_model": "ZeroWA", "reward": "NearOrigin"}[kind]
    impl_source, defaults = IMPLS[kind]
    values = {
        "dist": f"warl-{name}" if not name.startswith("warl-") else name,
        "name": name, "pkg": pkg, "kind": kind, "hook": HOOKS[kind], "impl": impl,
        "impl_module": kind, "cls": cls, "defaults": defaults,
        "summary": f"Example {kind} from `warl new-plugin`.",
        "make_args": "" if kind != "algorithm" else ", _point_env()",
    }
    files = {
        "pyproject.toml": PYPROJECT.substitute(values),
        "README.md": f"# {values['dist']}\n\nA warl {kind} plugin. Install with "
        f"`pip install -e .`, then `warl list` shows `{name}/{impl}` and `pytest` tests it.\n",
        f"{pkg}/__init__.py": f'"""{values["dist"]}: a warl {kind} plugin."""\n',
        f"{pkg}/register.py": REGISTER.substitute(values),
        f"{pkg}/{kind}.py": Template(impl_source).substitute(values),
        f"tests/test_{pkg}.py": TEST.substitute(values) + (_POINT_ENV if kind == "algorithm"
                                                            else ""),
    }
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


_POINT_ENV = '''

def _point_env():
    import gymnasium as gym
    import numpy as np

    class _Env(gym.Env):
        observation_space = gym.spaces.Dict({"state": gym.spaces.Box(-1, 1, (2,), np.float32)})
        action_space = gym.spaces.Box(-1, 1, (2,), np.float32)

    return _Env()
'''
