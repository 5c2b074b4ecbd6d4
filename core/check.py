"""`warl check`: the conformance suite every env plugin must pass.

Each check returns a short note or raises `ContractError` with a message that says how to fix
the env. Checks that need a clean interpreter (light registration, non-interactive import)
run in a subprocess once per module.
"""

from __future__ import annotations

import functools
import json
import re
import subprocess
import sys
import traceback
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from warl.core.errors import ContractError, WarlError
from warl.core.registry import Registry, default_registry
from warl.core.spec import PluginSpec

# Modules a registration module must not import: the reason `warl list` stays fast.
HEAVY_MODULES = (
    "torch", "tensorflow", "jax", "mujoco", "metaworld", "sapien", "mani_skill", "robosuite",
    "libero", "pyrep", "isaacgym", "gymnasium", "numpy",
)
SUBPROCESS_TIMEOUT_S = 300
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
CHUNK = 4
DETERMINISM_STEPS = 15


@dataclass
class CheckResult:
    name: str
    status: str  # pass | fail | skip | warn
    message: str = ""


@dataclass
class CheckReport:
    plugin_id: str
    results: list[CheckResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(r.status != "fail" for r in self.results)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.plugin_id,
            "ok": self.ok,
            "checks": [r.__dict__ for r in self.results],
        }


class Skip(Exception):
    """A check that does not apply (its reason is reported as 'skip')."""


class Warn(Exception):
    """A check that passes with a note the author should act on (reported as 'warn')."""


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT_S,
    )


@functools.cache
def heavy_imports_of(module: str) -> tuple[str, ...]:
    """Heavy modules that importing ``module`` pulls in (measured in a fresh interpreter)."""
    code = (
        "import importlib, json, sys\n"
        f"importlib.import_module({module!r})\n"
        f"print(json.dumps([m for m in {list(HEAVY_MODULES)!r} if m in sys.modules]))\n"
    )
    proc = _python(code)
    if proc.returncode != 0:
        raise ContractError(f"importing {module!r} failed:\n{proc.stderr.strip()[-2000:]}")
    return tuple(json.loads(proc.stdout.strip().splitlines()[-1]))


@functools.cache
def interactive_import_error(module: str) -> str | None:
    """None if ``module`` imports with stdin closed; else what went wrong."""
    try:
        proc = _python(f"import {module}")
    except subprocess.TimeoutExpired:
        return f"importing {module!r} did not finish in {SUBPROCESS_TIMEOUT_S} s (a prompt?)"
    if proc.returncode != 0:
        tail = proc.stderr.strip()[-2000:]
        if "EOFError" in tail:
            return f"importing {module!r} asks for input (EOFError with stdin closed):\n{tail}"
        return f"importing {module!r} failed:\n{tail}"
    return None


# -- the checks ---------------------------------------------------------------------------------
Context = dict[str, Any]


def check_defaults_json(ctx: Context) -> str:
    spec: PluginSpec = ctx["spec"]
    try:
        json.dumps(spec.defaults, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ContractError(f"defaults are not JSON-serializable: {exc}") from None
    return f"{len(spec.defaults)} default(s)"


def check_light_registration(ctx: Context) -> str:
    registry: Registry = ctx["registry"]
    spec: PluginSpec = ctx["spec"]
    modules = [p.module for p in registry.plugins if p.dist == spec.provider]
    if not modules:
        raise Skip("registered in code, not through an entry point")
    for module in modules:
        heavy = heavy_imports_of(module)
        if heavy:
            raise ContractError(
                f"registration module {module!r} imports {', '.join(heavy)}; move those imports "
                f"into the target module so `warl list` stays fast."
            )
    return ", ".join(modules)


def check_noninteractive_import(ctx: Context) -> str:
    module = ctx["spec"].target.partition(":")[0]
    error = interactive_import_error(module)
    if error:
        raise ContractError(error + "\nSet any config the package prompts for before importing.")
    return module


def make_env(ctx: Context, **extra: Any) -> Any:
    """The checked env with the spec's ``check_kwargs`` and the user's settings."""
    spec = ctx["spec"]
    return ctx["registry"].make(spec.id, kind="env", **{**spec.check_kwargs,
                                                        **ctx.get("settings", {}), **extra})


def check_make(ctx: Context) -> str:
    ctx["env"] = make_env(ctx)
    return type(ctx["env"].unwrapped).__name__


def _env(ctx: Context) -> Any:
    if "env" not in ctx:
        raise Skip("the env could not be made")
    return ctx["env"]


def check_spaces(ctx: Context) -> str:
    from gymnasium import spaces

    env = _env(ctx)
    obs_space = env.observation_space
    if not isinstance(obs_space, spaces.Dict):
        raise ContractError(
            "observation_space must be a flat gymnasium.spaces.Dict, got "
            f"{type(obs_space).__name__}"
        )
    state = obs_space.spaces.get("state")
    if not isinstance(state, spaces.Box) or state.dtype != np.float32:
        raise ContractError("observation_space['state'] must be a float32 Box (proprioception)")
    for key, space in obs_space.spaces.items():
        if isinstance(space, spaces.Dict):
            raise ContractError(f"observation key {key!r} is nested; keep the Dict flat")
        if key.startswith("rgb_") and not (
            isinstance(space, spaces.Box) and space.dtype == np.uint8
            and len(space.shape) == 3 and space.shape[2] == 3
        ):
            raise ContractError(f"{key!r} must be a uint8 Box of shape (H, W, 3), got {space}")
    action = env.action_space
    if not isinstance(action, spaces.Box) or len(action.shape) != 1:
        raise ContractError(f"action_space must be a 1-D Box, got {action}")
    return f"obs keys {list(obs_space.spaces)}, action {action.shape}"


def check_gymnasium(ctx: Context) -> str:
    from gymnasium.utils.env_checker import check_env

    env = _env(ctx)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env.unwrapped, skip_render_check=True)
    notes = sorted({_ANSI.sub("", str(w.message)).split("\n")[0][:120] for w in caught})
    return "passed" + (f" ({len(notes)} warning(s): {'; '.join(notes)})" if notes else "")


def check_info(ctx: Context) -> str:
    env = _env(ctx)
    _, info = env.reset(seed=0)
    if not isinstance(info.get("instruction"), str):
        raise ContractError("reset() must return info['instruction'] (the task as a string)")
    env.action_space.seed(0)
    rewards = set()
    for step in range(5):
        _, reward, terminated, truncated, info = env.step(env.action_space.sample())
        if not isinstance(info.get("success"), bool | np.bool_):
            raise ContractError(f"step {step}: info['success'] (bool) is missing")
        rewards.add(float(reward))
        if terminated or truncated:
            break
    if not rewards <= {0.0, 1.0}:
        raise ContractError(
            f"rewards {sorted(rewards)} are not sparse; the default reward must be 1 on success "
            f"and 0 otherwise (offer shaped rewards behind an option)"
        )
    return "instruction at reset, success every step, sparse reward"


def _rollout(env: Any, seed: int, actions: np.ndarray) -> list[dict[str, np.ndarray]]:
    obs, _ = env.reset(seed=seed)
    trace = [obs]
    for action in actions:
        obs, _, terminated, truncated, _ = env.step(action)
        trace.append(obs)
        if terminated or truncated:
            break
    return trace


def _same(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> bool:
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def check_determinism(ctx: Context) -> str:
    env = _env(ctx)
    env.action_space.seed(123)
    actions = np.stack([env.action_space.sample() for _ in range(DETERMINISM_STEPS)])
    first = _rollout(env, 7, actions)
    second = _rollout(env, 7, actions)
    for t, (a, b) in enumerate(zip(first, second, strict=False)):
        if not _same(a, b):
            raise ContractError(
                f"same seed and actions gave different observations at step {t}; draw every "
                f"random number from self.np_random (seeded in reset(seed=...))"
            )
    other = env.reset(seed=8)[0]
    varied = not _same(first[0], other)
    return f"{len(first) - 1} steps reproduced" + ("" if varied else "; seeds 7 and 8 start alike")


def check_chunks(ctx: Context) -> str:
    from warl.core.envs.chunked import ChunkedEnv

    env = _env(ctx)
    env.action_space.seed(5)
    chunk = np.stack([env.action_space.sample() for _ in range(CHUNK)])
    env.reset(seed=3)
    expected_reward, obs, steps = 0.0, None, 0
    for action in chunk:
        obs, reward, terminated, truncated, _ = env.step(action)
        expected_reward += float(reward)
        steps += 1
        if terminated or truncated:
            break
    chunked = ChunkedEnv(env, CHUNK)
    chunked.reset(seed=3)
    c_obs, c_reward, _, _, info = chunked.step(chunk)
    if info["steps_executed"] != steps:
        raise ContractError(f"chunk ran {info['steps_executed']} steps, expected {steps}")
    if info["executed_actions"].shape != chunk.shape or info["intervened"].shape != (CHUNK,):
        raise ContractError("chunk info has wrong executed_actions / intervened shapes")
    if getattr(env.unwrapped, "imagines_chunks", False):
        # A world model imagines each frame from the whole chunk it belongs to: a chunk and
        # the same actions one by one are different imaginations, by design.
        return (f"{CHUNK}-step chunk ran {steps} steps; imagined as a whole, so its frames are "
                f"not those of single steps")
    if not np.isclose(c_reward, expected_reward) or not _same(c_obs, obs or {}):
        raise ContractError(
            "a chunk did not match the same actions stepped one by one (reward or observation)"
        )
    return f"{CHUNK}-step chunk matches single steps"


# Every kind: what `warl list` and `make()` rely on.
SHARED_CHECKS: list[tuple[str, Callable[[Context], str]]] = [
    ("defaults_json", check_defaults_json),
    ("light_registration", check_light_registration),
    ("noninteractive_import", check_noninteractive_import),
]
ENV_CHECKS: list[tuple[str, Callable[[Context], str]]] = [
    ("make", check_make),
    ("contract_spaces", check_spaces),
    ("gymnasium_check_env", check_gymnasium),
    ("success_and_instruction", check_info),
    ("seeding_determinism", check_determinism),
    ("chunk_semantics", check_chunks),
]


def check_plugin(plugin_id: str, registry: Registry | None = None,
                 settings: Mapping[str, Any] | None = None) -> CheckReport:
    """Run the conformance suite of the plugin's kind (envs, algorithms, world models,
    rewards);
    ``settings`` are keyword arguments for the env (a remote env's ``url``)."""
    from warl.core import check_algorithms, check_models, check_rewards, check_training

    registry = registry or default_registry()
    spec = registry.get(plugin_id)
    report = CheckReport(plugin_id)
    suites = {
        "env": [*SHARED_CHECKS, *ENV_CHECKS, *check_training.ENV_TRAINING_CHECKS],
        "algorithm": [*SHARED_CHECKS, *check_algorithms.ALGORITHM_CHECKS],
        "world_model": [*SHARED_CHECKS, *check_models.WORLD_MODEL_CHECKS],
        "reward": [*SHARED_CHECKS, *check_rewards.REWARD_CHECKS],
    }
    if spec.kind not in suites:
        report.results.append(CheckResult("kind", "skip", f"no checks for kind {spec.kind!r} yet"))
        return report
    ctx: Context = {"spec": spec, "registry": registry, "settings": dict(settings or {})}
    try:
        for name, check in suites[spec.kind]:
            try:
                report.results.append(CheckResult(name, "pass", check(ctx)))
            except Skip as skip:
                report.results.append(CheckResult(name, "skip", str(skip)))
            except Warn as warn:
                report.results.append(CheckResult(name, "warn", str(warn)))
            except Exception as exc:
                detail = str(exc) if isinstance(exc, WarlError) else traceback.format_exc()
                report.results.append(CheckResult(name, "fail", detail.strip()))
    finally:
        if "env" in ctx:
            ctx["env"].close()
        if spec.kind == "algorithm":
            check_algorithms.cleanup(ctx)
    return report
