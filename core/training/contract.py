"""The algorithm contract: what every algorithm provides, and what each stock loop asks more.

Every algorithm plugin is built by ``target(env, **settings)`` (plus ``wa_model=`` and the
other models it ``needs``) and is one of:

- **trainable**: it has ``train(session)``, which trains within the `Session`'s budgets by
  calling a stock loop (`warl.core.training.loops`) or its own. ``needs``, ``act``,
  ``state_dict`` and ``load_state_dict`` complete it. A stock loop asks for the members of its
  Protocol below (`OffPolicy`, `Rounds`, `OnPolicy`) and names any that is missing.
- **evaluation-only**: ``evaluation_only = True`` and ``act`` (``wa-base``): ``warl train``
  evaluates it and trains nothing.

Anything else is refused before any work, with the member that is missing. Plugins written
for warl 0.1 (``cadence`` / ``learn(LearnSession)`` / an implicit off-policy ``make_policy``)
still train, through `warl.core.training.legacy`, and `warl check` says how to port them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

import numpy as np

from warl.core.errors import ConfigError, ContractError

# What an algorithm may declare in ``needs``; the core provides each, or refuses before work.
NEEDS = {
    "wa_model": "the frozen world-action model (--wa-model, default warl/wa-small)",
    "world_model": "a world model used as a simulator (--world-model ID)",
    "reward_model": "a reward model (--reward-model ID)",
    "demos": "the demonstration buffer (train.demos episodes of the env's scripted expert)",
    "intervention": "a gated expert in the training loop (train.intervention=auto|expert)",
}
PORTING = "docs/plugins.md#porting-from-warl-01"


@runtime_checkable
class Trainable(Protocol):
    """Every trainable algorithm."""

    needs: frozenset[str]

    def act(self, observation: Mapping[str, Any], wa_output: Any = None,
            explore: bool = False) -> np.ndarray:
        """The next (C, A) action chunk (deterministic unless ``explore``)."""
        ...

    def train(self, session: Any) -> None:
        """Train within ``session``'s budgets; resumable from ``session.counters`` and the
        algorithm's own ``state_dict``."""
        ...

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue exactly: tensors, numbers, strings, bools, None,
        numpy arrays, and lists / tuples / dicts of them."""
        ...

    def load_state_dict(self, state: Mapping[str, Any]) -> None: ...


class RolloutPolicy(Protocol):
    """A rollout worker's copy of the policy (``make_policy()``)."""

    def reseed(self, seed: int) -> None: ...

    def load_policy_state(self, state: Mapping[str, Any]) -> None: ...

    def act(self, observation: Mapping[str, Any], wa_output: Any = None,
            explore: bool = False) -> Any:
        """A (C, A) chunk, or ``(chunk, extras)`` with extras (log-probabilities, raw samples)
        stored beside the transition under ``extras``. Optionally the policy also has
        ``act_on(state, explore)``: the same decision from the RL state ``features``
        returned, so that the rollout engine computes it once per decision."""
        ...

    def features(self, observation: Mapping[str, Any], wa_output: Any) -> dict[str, np.ndarray]:
        """The RL state stored in replay (``obs`` / ``next``)."""
        ...


class _Learner(Protocol):
    def make_policy(self) -> RolloutPolicy: ...

    def policy_state(self) -> Mapping[str, Any]: ...


class OffPolicy(_Learner, Protocol):
    """`loops.off_policy`: updates at ``utd`` per collected transition, batches of
    ``batch_size`` from the replay once ``learning_starts`` transitions are in."""

    batch_size: int
    utd: int

    def update(self, batch: Any) -> dict[str, float]: ...


class Rounds(_Learner, Protocol):
    """`loops.rounds`: ``episodes_per_round`` episodes of one fixed policy, then
    ``updates_per_round`` updates on everything aggregated (DAgger)."""

    batch_size: int
    episodes_per_round: int
    updates_per_round: int

    def update(self, batch: Any) -> dict[str, float]: ...


class OnPolicy(_Learner, Protocol):
    """`loops.on_policy`: groups of ``group_size`` episodes (from one initial state when
    ``same_start``), ``groups_per_update`` groups, then ``update_on_policy`` on them."""

    group_size: int
    groups_per_update: int

    def update_on_policy(self, batch: Any) -> dict[str, float]: ...


FAMILIES: dict[str, type] = {"off_policy": OffPolicy, "rounds": Rounds, "on_policy": OnPolicy}


def members(protocol: type) -> list[str]:
    """The attributes and methods a Protocol asks for (its own and its bases')."""
    names: list[str] = []
    for klass in reversed(protocol.__mro__):
        if klass in (object, Protocol, Any) or klass.__name__ in ("Generic",):
            continue
        for name in [*getattr(klass, "__annotations__", {}), *vars(klass)]:
            if not name.startswith("_") and name not in names:
                names.append(name)
    return names


def missing_members(algorithm: Any, protocol: type) -> list[str]:
    return [name for name in members(protocol) if not hasattr(algorithm, name)]


def require(algorithm: Any, protocol: type, who: str, loop: str) -> None:
    """Refuse ``algorithm`` for ``loop`` naming each member of ``protocol`` it lacks."""
    missing = missing_members(algorithm, protocol)
    if missing:
        raise ContractError(f"{who!r} cannot train with the {loop} loop: it has no "
                            f"{', '.join(repr(m) for m in missing)} (see docs/plugins.md, "
                            f"the {protocol.__name__} protocol)")


def is_legacy(algorithm: Any) -> bool:
    """A warl 0.1 plugin: no ``train``, but a cadence, ``learn`` or an implicit off-policy
    ``make_policy``."""
    return not hasattr(algorithm, "train") and (
        hasattr(algorithm, "cadence") or hasattr(algorithm, "learn")
        or hasattr(algorithm, "make_policy"))


def kind_of(algorithm: Any, who: str) -> str:
    """``trainable``, ``evaluation-only`` or ``legacy``; refuses anything else, naming what is
    missing and how to fix it."""
    if getattr(algorithm, "evaluation_only", False):
        if not hasattr(algorithm, "act"):
            raise ContractError(f"{who!r} is evaluation-only but has no 'act'")
        return "evaluation-only"
    if hasattr(algorithm, "train"):
        missing = missing_members(algorithm, Trainable)
        if missing:
            raise ContractError(f"{who!r} has train() but no "
                                f"{', '.join(repr(m) for m in missing)} (docs/plugins.md)")
        return "trainable"
    if is_legacy(algorithm):
        return "legacy"
    raise ContractError(
        f"{who!r} has no train(session): nothing would train it. Add train(session) calling a "
        f"stock loop (e.g. warl.core.training.loops.off_policy(session, self)), or set "
        f"evaluation_only = True if it only acts (docs/plugins.md)")


def needs_of(algorithm_or_class: Any, who: str) -> frozenset[str]:
    """The algorithm's ``needs``, refused (before any work) when one is unknown."""
    needs = frozenset(getattr(algorithm_or_class, "needs", frozenset()))
    unknown = sorted(needs - set(NEEDS))
    if unknown:
        raise ContractError(f"{who!r} declares needs {unknown} that warl does not provide; "
                            f"known: {', '.join(sorted(NEEDS))}")
    return needs


def open_loop_message(env_id: str) -> str:
    """Why an env whose scripted expert plans from reset cannot stand in for the operator."""
    return (f"the scripted expert of {env_id!r} plans from reset (open-loop) and cannot take over "
            f"from an arbitrary state; train without interventions (train.intervention=none, or "
            f"an algorithm that needs none) or on an env whose expert replans every step")


def intervenes(algorithm: Any, config: Any, who: str) -> bool:
    """Whether the gated expert joins the training loop (``train.intervention``)."""
    needs = frozenset(getattr(algorithm, "needs", ()))
    if config.intervention == "none" and "intervention" in needs:
        raise ConfigError(f"{who!r} learns from interventions; train.intervention=none leaves "
                          f"it none (use auto or expert)")
    return bool(config.intervention == "expert" or (
        config.intervention == "auto" and "intervention" in needs))
