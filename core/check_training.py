"""`warl check ENV`, second part: what `warl train` asks of an env beyond the Gymnasium
contract. Videos need ``render_mode="rgb_array"`` and ``render()``; the env's default
deployment gap must wrap it; demonstrations and interventions need its scripted expert
(``env.unwrapped.scripted_expert()``, a callable observation -> action), which is optional:
without one, algorithms that need ``demos`` or ``intervention`` cannot train on it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from warl.core.check import Context, Skip, make_env
from warl.core.errors import ContractError

EXPERT_STEPS = 60


def check_render_mode(ctx: Context) -> str:
    from warl.core.errors import BadKwargsError

    try:
        env = make_env(ctx, render_mode="rgb_array")
    except BadKwargsError:
        raise ContractError(
            "the env does not take render_mode; warl train and warl eval pass "
            "render_mode='rgb_array' to record videos: accept render_mode=None in __init__ "
            "(Gymnasium's convention) and return an (H, W, 3) uint8 frame from render()"
        ) from None
    try:
        env.reset(seed=0)
        frame = env.render()
    finally:
        env.close()
    if not isinstance(frame, np.ndarray) or frame.ndim != 3 or frame.shape[-1] != 3 or \
            frame.dtype != np.uint8:
        raise ContractError(
            f"render() with render_mode='rgb_array' returned {type(frame).__name__} "
            f"{getattr(frame, 'shape', '')}; warl train and warl eval record videos from it and "
            f"need an (H, W, 3) uint8 image (or run with train.videos=0)")
    return f"rgb_array frames {frame.shape}"


def check_deployment_gap(ctx: Context) -> str:
    from warl.core.envs.gap import apply_deployment_gap

    gap = ctx["spec"].deployment_gap
    if not gap:
        raise Skip("no default deployment gap")
    env = apply_deployment_gap(make_env(ctx), gap, seed=0)
    try:
        env.reset(seed=0)
        env.step(env.action_space.sample())
    finally:
        env.close()
    return ", ".join(gap)


def check_scripted_expert(ctx: Context) -> str:
    env: Any = make_env(ctx)
    try:
        factory = getattr(env.unwrapped, "scripted_expert", None)
        if factory is None:
            raise Skip("no scripted expert: algorithms that need demos or interventions "
                       "(halo-wa, hg-dagger, ...) need train.demos=0 / cannot train here")
        expert = factory()
        obs, _ = env.reset(seed=0)
        for _ in range(EXPERT_STEPS):
            action = np.asarray(expert(obs), dtype=np.float32)
            if action.shape != env.action_space.shape or not env.action_space.contains(
                    np.clip(action, env.action_space.low, env.action_space.high)):
                raise ContractError(f"scripted_expert() returned an action of shape "
                                    f"{action.shape}; expected {env.action_space.shape}")
            obs, _, terminated, truncated, _ = env.step(action)
            if terminated or truncated:
                break
    finally:
        env.close()
    return "scripted_expert() acts in the action space"


ENV_TRAINING_CHECKS = [
    ("render_mode", check_render_mode),
    ("deployment_gap", check_deployment_gap),
    ("scripted_expert", check_scripted_expert),
]
