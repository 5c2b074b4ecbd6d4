"""`warl check ALGO`: the algorithm conformance suite.

It builds the algorithm as `warl train` does, on a small env with an untrained small WA model
(no pretraining), and checks what training relies on: the settings checker, the contract (or
the porting note of a warl 0.1 plugin), chunks of the right shape from ``act`` and from the
rollout policy, that a short ``train(session)`` updates and changes parameters, and that a
state-dict round trip through a checkpoint file gives a bit-identical next update. The spec's
``check_kwargs`` may set ``env`` (default ``metaworld/reach``), ``settings`` (algorithm
settings for a small instance), ``wa_model`` (default: the algorithm's, else the small
untrained `warl/wa-small`), ``wa`` (WA-model settings), ``world_model``, ``reward_model`` and
``env_steps`` (the short run's budget, default 1000).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from warl.core.check import Context, Skip, Warn
from warl.core.errors import ContractError

DEFAULT_ENV = "metaworld/reach"
SMALL_WA = {"pretrained": False, "obs_mode": "state", "hidden": 64}


def _small(ctx: Context) -> dict[str, Any]:
    from warl.core.assemble import DEFAULT_WA_MODEL, wa_model_for

    kwargs = dict(ctx["spec"].check_kwargs)
    wa_model = wa_model_for(ctx["registry"], ctx["spec"].id, kwargs.get("wa_model"))
    # Another model gets only what the spec says, untrained: SMALL_WA's keys are wa-small's.
    small = SMALL_WA if wa_model == DEFAULT_WA_MODEL else {"pretrained": False}
    return {"env": kwargs.get("env", DEFAULT_ENV), "settings": kwargs.get("settings", {}),
            "wa_model": wa_model, "wa": {**small, **kwargs.get("wa", {})},
            "world_model": kwargs.get("world_model"), "reward_model": kwargs.get("reward_model"),
            "env_steps": int(kwargs.get("env_steps", 1000))}


def _build(ctx: Context) -> Any:
    from warl.core.assemble import assemble

    small = _small(ctx)
    return assemble(ctx["registry"], ctx["spec"].id, small["env"],
                    algo_settings=small["settings"], wa_model_id=small["wa_model"],
                    wa_settings=small["wa"],
                    show_progress=False, world_model_id=small["world_model"],
                    reward_model_id=small["reward_model"])


def check_settings(ctx: Context) -> str:
    from warl.core.training.preflight import check_settings as checker

    spec = ctx["spec"]
    checker(spec, {**spec.defaults, **_small(ctx)["settings"]})
    return f"checked by {spec.settings}" if spec.settings else "checked by the target"


def check_contract(ctx: Context) -> str:
    from warl.core.make import resolve_target
    from warl.core.training.contract import kind_of, needs_of
    from warl.core.training.legacy import porting_note

    target = resolve_target(ctx["spec"])
    needs_of(target, ctx["spec"].id)
    kind = ctx["kind"] = kind_of(target, ctx["spec"].id)
    if kind == "legacy":
        raise Warn(porting_note(target, ctx["spec"].id))
    return kind


def check_build(ctx: Context) -> str:
    ctx["setup"] = _build(ctx)
    wa = ctx["setup"].wa_model
    return f"on {_small(ctx)['env']}" + (" with an untrained WA model" if wa else "")


def _setup(ctx: Context) -> Any:
    if "setup" not in ctx:
        raise Skip("the algorithm could not be built")
    return ctx["setup"]


def _check_chunk(out: Any, env: Any, who: str) -> np.ndarray:
    from warl.core.rollout.engine import split_extras

    chunk, _ = split_extras(out)
    c, a = env.chunk, env.action_dim
    if chunk.ndim != 2 or chunk.shape[1] != a or not 1 <= len(chunk) <= c:
        raise ContractError(f"{who} returned shape {chunk.shape}; expected (k, {a}) with "
                            f"1 <= k <= {c} (the chunk C)")
    low, high = env.env.action_space.low, env.env.action_space.high
    if not np.all(np.isfinite(chunk)) or np.any(chunk < low - 1e-5) or \
            np.any(chunk > high + 1e-5):
        raise ContractError(f"{who} returned actions outside the action space "
                            f"[{low.min()}, {high.max()}] (clip them)")
    return chunk


def check_act(ctx: Context) -> str:
    from warl.core.envs.contract import INSTRUCTION_KEY
    from warl.core.world_model import batch_of

    setup = _setup(ctx)
    env, algorithm, wa = setup.env, setup.algorithm, setup.wa_model
    obs, info = env.reset(seed=0)
    output = None if wa is None else wa.infer(batch_of(obs), str(info.get(INSTRUCTION_KEY, "")))
    chunk = _check_chunk(algorithm.act(obs, output, False), env, "act(explore=False)")
    _check_chunk(algorithm.act(obs, output, True), env, "act(explore=True)")
    if hasattr(algorithm, "make_policy"):
        policy = algorithm.make_policy()
        policy.reseed(0)
        _check_chunk(policy.act(obs, output, True), env, "make_policy().act")
        policy.features(obs, output)
    env.step(chunk)
    return f"chunks of shape {chunk.shape}"


def _tensors(state: Any, prefix: str = "") -> dict[str, Any]:
    import torch

    if isinstance(state, torch.Tensor):
        return {prefix: state.detach().clone()}
    if isinstance(state, dict):
        out: dict[str, Any] = {}
        for key, value in state.items():
            out.update(_tensors(value, f"{prefix}.{key}"))
        return out
    return {}


def check_train(ctx: Context) -> str:
    from warl.core.training.config import make_train_config
    from warl.core.training.log import RunLog
    from warl.core.training.runner import fill_demos, train_algorithm
    from warl.core.training.session import Session

    if ctx.get("kind") == "evaluation-only":
        raise Skip("evaluation-only: nothing to train")
    setup = _setup(ctx)
    needs = frozenset(getattr(setup.algorithm, "needs", ()))
    config = make_train_config({
        "env_steps": _small(ctx)["env_steps"], "minutes": 0, "demos": 2, "baseline": False,
        "eval_trials": 0, "videos": 0, "asynchronous": False, "torch_threads": 1,
        "checkpoint_every": 10**9, "replay_capacity": 10_000})
    run = Path(tempfile.mkdtemp(prefix="warl-check-"))
    session = Session(setup, config, run, ctx["registry"], show_progress=False)
    session.log = RunLog(run)
    ctx["session"], ctx["run"] = session, run
    if "demos" in needs:
        fill_demos(session)
    before = _tensors(setup.algorithm.state_dict())
    try:
        train_algorithm(session, ctx.get("kind"))
    finally:
        session.log.close()
    if session.counters.updates == 0:
        raise ContractError(f"train(session) made no update in {session.counters.env_steps} env "
                            f"steps; count each one in session.counters.updates (or raise "
                            f"check_kwargs.env_steps)")
    changed = _changed(before, _tensors(setup.algorithm.state_dict()))
    note = f"{len(changed)} of {len(before)} tensors changed"
    if not changed:  # the run's data may carry no signal (every episode failed): force one
        step = _next_update(setup.algorithm, session)
        if step is not None:
            before = _tensors(setup.algorithm.state_dict())
            step(setup.algorithm)
            changed = _changed(before, _tensors(setup.algorithm.state_dict()))
            note = f"{len(changed)} of {len(before)} tensors changed by one more update"
    if not changed:
        raise ContractError("train(session) counted updates but no tensor in state_dict() "
                            "changed; does update() step the optimizer, and does state_dict() "
                            "hold the trained weights?")
    return f"{session.counters.updates} updates in {session.counters.env_steps} env steps; {note}"


def _changed(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    return [k for k in before if k in after and (before[k].shape != after[k].shape
                                                  or not bool((before[k] == after[k]).all()))]


def _next_update(algorithm: Any, session: Any) -> Any:
    """A fixed next learning step for ``algorithm`` on data from ``session``."""
    if hasattr(algorithm, "update_on_policy"):
        from warl.core.training.loops.on_policy import group_batch

        group = [session.collect(algorithm.policy_state(), seed=123, explore=True,
                                 noise_seed=i) for i in range(algorithm.group_size)]
        batch = group_batch([group])
        # A learning signal whatever the episodes did: alternate the returns.
        batch["episode_return"] = (batch["trajectory"] % 2).float()
        return lambda algo: algo.update_on_policy(batch.clone())
    if hasattr(algorithm, "update") and hasattr(algorithm, "batch_size") and len(session.replay):
        batch = session.replay.sample(algorithm.batch_size)
        return lambda algo: algo.update(batch.clone())
    return None


def check_round_trip(ctx: Context) -> str:
    import torch

    from warl.core.training.checkpoint import from_saved, to_saveable

    if "session" not in ctx:
        raise Skip("no trained instance to save")
    first, session = ctx["setup"].algorithm, ctx["session"]
    path = ctx["run"] / "algorithm.pt"
    torch.save(to_saveable(first.state_dict(), "", ctx["spec"].id), path)
    second_setup = _build(ctx)
    second = second_setup.algorithm
    try:
        second.load_state_dict(from_saved(torch.load(path, weights_only=True)))
        step = _next_update(first, session)
        if step is None:
            obs, _ = session.env.reset(seed=7)
            same = np.array_equal(np.asarray(first.act(obs, None, False)),
                                  np.asarray(second.act(obs, None, False)))
            if not same:
                raise ContractError("after load_state_dict(state_dict()) the algorithm acts "
                                    "differently on the same observation")
            return "actions restored (no stock update to replay)"
        results = []
        for algo in (first, second):
            torch.manual_seed(0)
            np.random.seed(0)
            results.append((step(algo), _tensors(algo.state_dict())))
        (m1, s1), (m2, s2) = results
        if m1 != m2:
            raise ContractError(f"the next update after a state-dict round trip differs: "
                                f"{m1} vs {m2}; save every optimizer, generator and counter")
        differ = [k for k in s1 if k not in s2 or not torch.equal(s1[k], s2[k])]
        if differ:
            raise ContractError(f"after the same next update, tensors differ: {differ[:5]}")
        return "bit-identical next update"
    finally:
        second_setup.close()


ALGORITHM_CHECKS = [
    ("settings", check_settings),
    ("contract", check_contract),
    ("build", check_build),
    ("act", check_act),
    ("train", check_train),
    ("state_dict_round_trip", check_round_trip),
]


def cleanup(ctx: Context) -> None:
    import shutil

    if "setup" in ctx:
        ctx["setup"].close()
    if "run" in ctx:
        shutil.rmtree(ctx["run"], ignore_errors=True)
