"""The hooks a warl plugin implements. One hook per plugin kind; each returns specs.

A hook must be cheap: it returns `PluginSpec` objects (or plain dicts with the same fields)
holding ``"module:attr"`` strings, and imports nothing heavy. The target is imported only when
someone calls ``warl.make(id)``. Every hook is documented with an example in docs/plugins.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypeAlias

import pluggy

from warl.core.spec import PluginSpec

PROJECT_NAME = "warl"
hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)

SpecLike: TypeAlias = PluginSpec | Mapping[str, Any]

# Hook name -> the kind of every spec it returns. Registration checks the match.
HOOK_KINDS: dict[str, str] = {
    "warl_register_envs": "env",
    "warl_register_algorithms": "algorithm",
    "warl_register_world_models": "world_model",
    "warl_register_rewards": "reward",
}


@hookspec
def warl_register_envs() -> Iterable[SpecLike]:
    """Return the specs of the Gymnasium environments this plugin provides.

    Each target builds a ``gymnasium.Env`` that follows the warl env contract: a flat ``Dict``
    observation with a float32 ``state`` and optional uint8 ``rgb_<camera>`` images,
    ``info["success"]`` on every step and ``info["instruction"]`` at reset. ``warl check ID``
    verifies the contract.
    """


@hookspec
def warl_register_algorithms() -> Iterable[SpecLike]:
    """Return the specs of the learning algorithms this plugin provides.

    Each target is a factory ``target(env, **config)`` (plus ``wa_model=`` and the other
    models it ``needs``) returning an object with ``needs``, ``act``, ``train(session)``,
    ``state_dict`` and ``load_state_dict``, or an evaluation-only one (``evaluation_only =
    True``): see `warl.core.training.contract` and docs/plugins.md.
    """


@hookspec
def warl_register_world_models() -> Iterable[SpecLike]:
    """Return the specs of world-action models and world models this plugin provides.

    A world-action model maps observations and an instruction to a reference action chunk and
    latent tokens; a world model predicts future frames or latents from an action chunk.
    """


@hookspec
def warl_register_rewards() -> Iterable[SpecLike]:
    """Return the specs of reward models this plugin provides.

    Each target builds a callable that scores observations (for example a learned success
    classifier, or a reconstruction similarity between imagined and executed futures).
    """
