"""`warl check` for reward models: the `FrameReward` and `FutureSimilarity` contracts.

The checks build the plugin from its spec's ``check_kwargs``, feed it synthetic batches and
check that it returns one finite float per item, that an item's score does not depend on the
rest of the batch, that a future is at least as similar to itself as to a perturbed copy, and
that malformed input is refused with a clear error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from warl.core.check import Context, Skip
from warl.core.errors import ContractError, WarlError
from warl.core.reward import FRAMES, FUTURES, INPUTS

BATCH, FRAMES_PER_FUTURE, SIZE = 3, 4, 32


def _reward(ctx: Context) -> Any:
    if "reward" not in ctx:
        raise Skip("the reward model could not be built")
    return ctx["reward"]


def _scores(values: Any, what: str) -> np.ndarray:
    scores = np.asarray(values)
    if scores.shape != (BATCH,) or not np.all(np.isfinite(scores)):
        raise ContractError(f"{what} must return {BATCH} finite floats, got {scores!r}")
    return scores.astype(np.float64)


def _futures(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    base = np.linspace(0, 255, SIZE)[None, None, :, None, None]
    scene = np.broadcast_to(base, (BATCH, FRAMES_PER_FUTURE, SIZE, SIZE, 3)).copy()
    for t in range(FRAMES_PER_FUTURE):  # a square that moves: the flow has something to see
        scene[:, t, 8:16, 4 + 3 * t:12 + 3 * t] = 250
    executed = np.clip(scene + rng.normal(0, 3, scene.shape), 0, 255).astype(np.uint8)
    imagined = np.clip(executed + rng.normal(0, 40, scene.shape), 0, 255).astype(np.uint8)
    return imagined, executed


def _observations(model: Any) -> tuple[dict[str, np.ndarray], list[dict[str, Any]]]:
    from warl.core.world_model import synthetic_observations

    obs = synthetic_observations(model, (BATCH,))
    return obs, [{"success": i % 2 == 0} for i in range(BATCH)]


def check_make(ctx: Context) -> str:
    from warl.core.errors import ConfigError

    spec = ctx["spec"]
    kwargs = {**(spec.check_kwargs or {}), **ctx.get("settings", {})}
    try:
        ctx["reward"] = ctx["registry"].make(spec.id, kind="reward", **kwargs)
    except ConfigError as exc:
        if "weights" in str(exc) and "weights" not in kwargs:
            raise Skip(f"{exc}; check it with `warl check {spec.id} --set weights=PATH`"
                       ) from None
        raise
    return f"{type(ctx['reward']).__name__} with {kwargs}"


def check_interface(ctx: Context) -> str:
    model = _reward(ctx)
    inputs = getattr(model, "inputs", None)
    if inputs not in INPUTS:
        raise ContractError(f"a reward model's inputs must be one of {INPUTS}, got {inputs!r}")
    method = "reward" if inputs == FRAMES else "similarity"
    if not callable(getattr(model, method, None)):
        raise ContractError(f"a {inputs!r} reward model needs a {method}() method")
    return f"{inputs}: {method}()"


def check_scores(ctx: Context) -> str:
    model = _reward(ctx)
    if model.inputs == FUTURES:
        imagined, executed = _futures()
        scores = _scores(model.similarity(imagined, executed), "similarity")
        alone = _scores(model.similarity(np.repeat(imagined[:1], BATCH, 0),
                                         np.repeat(executed[:1], BATCH, 0)), "similarity")
        if not np.isclose(alone[0], scores[0], rtol=1e-4, atol=1e-6):
            raise ContractError("an item's similarity changed with the rest of the batch")
        same = _scores(model.similarity(executed, executed), "similarity")
        if np.any(same < scores - 1e-6):
            raise ContractError(f"a future is less similar to itself ({same}) than to a "
                                f"perturbed copy ({scores})")
        return f"similarity of perturbed {scores.round(4)}, of itself {same.round(4)}"
    obs, infos = _observations(model)
    scores = _scores(model.reward(obs, infos), "reward")
    one = {k: np.repeat(v[:1], BATCH, 0) for k, v in obs.items()}
    alone = _scores(model.reward(one, [infos[0]] * BATCH), "reward")
    if not np.isclose(alone[0], scores[0]):
        raise ContractError("an observation's reward changed with the rest of the batch")
    return f"rewards {scores.round(4)}"


def check_refuses_bad_input(ctx: Context) -> str:
    model = _reward(ctx)
    if model.inputs != FUTURES:
        raise Skip("frame rewards read the env's observation layout")
    imagined, executed = _futures()
    cases = {"different shapes": (imagined[:, :2], executed),
             "float frames": (imagined.astype(np.float32), executed.astype(np.float32)),
             "no time axis": (imagined[:, 0], executed[:, 0])}
    for what, (a, b) in cases.items():
        try:
            model.similarity(a, b)
        except WarlError:
            continue
        raise ContractError(f"futures with {what} were accepted; refuse them with a clear error")
    return f"{len(cases)} malformed pairs refused"


REWARD_CHECKS: list[tuple[str, Callable[[Context], str]]] = [
    ("make", check_make),
    ("interface", check_interface),
    ("scores", check_scores),
    ("refuses_bad_input", check_refuses_bad_input),
]
