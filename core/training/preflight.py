"""Every input of a training request checked before any work starts (pretraining, demos, envs).

A request's loop settings are parsed against `TrainConfig`; the algorithm's against its own
config (its ``make_config(settings)``, else its constructor's keywords); the WA model's against
its loader (its ``check_settings(settings)``, else its keywords); the deployment gap is parsed
and its wrappers' settings bound; the ids are looked up ("did you mean"); the algorithm is
checked against the contract (``train``, or ``evaluation_only``) and its ``needs`` against
what the request provides. The first problem is one `WarlError` naming the key, the value and
what is expected; nothing has been built or written by then.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

from warl.core.errors import ConfigError
from warl.core.registry import Registry

# Keywords every plugin factory gets from the core, never from the user.
CORE_KEYWORDS = {"env", "wa_model", "world_model", "reward_model", "show_progress"}


def check_keywords(target: Any, settings: Mapping[str, Any], who: str,
                   skip_positional: int = 0) -> None:
    """Refuse keys ``target``'s signature does not take (unless it takes ``**kwargs``)."""
    from warl.core.settings import unknown_keys_error

    try:
        params = list(inspect.signature(target).parameters.values())[skip_positional:]
    except (TypeError, ValueError):  # no signature to read: the factory will say
        return
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return
    known = {p.name for p in params} - CORE_KEYWORDS
    unknown = set(settings) - known
    if unknown:
        raise unknown_keys_error(unknown, known, who)


def check_settings(spec: Any, settings: Mapping[str, Any]) -> None:
    """``settings`` of a plugin checked: by the spec's light ``settings`` checker if it names
    one, else by the target's ``make_config`` (algorithms), ``check_settings`` (models) or
    keywords (importing the target)."""
    from warl.core.make import resolve_target

    if spec.settings:
        resolve_target(spec, "settings")(dict(settings))
        return
    target = resolve_target(spec)
    checker = getattr(target, "make_config" if spec.kind == "algorithm" else "check_settings",
                      None)
    if callable(checker):
        checker(dict(settings))
    else:
        check_keywords(target, settings, spec.id, skip_positional=int(spec.kind == "algorithm"))


def check_gap(gap: Mapping[str, Any]) -> None:
    """Known wrapper names, and settings each wrapper's constructor takes."""
    from warl.core.envs.gap import GAP_WRAPPERS

    unknown = set(gap) - set(GAP_WRAPPERS)
    if unknown:
        from warl.core.settings import unknown_keys_error

        raise unknown_keys_error(unknown, GAP_WRAPPERS, "--gap wrapper")
    for name, settings in gap.items():
        if settings is not None and not isinstance(settings, Mapping):
            raise ConfigError(f"--gap {name}: expected a mapping of settings, got {settings!r}")
        params = list(inspect.signature(GAP_WRAPPERS[name]).parameters)[1:]
        unknown = set(settings or {}) - set(params)
        if unknown:
            from warl.core.settings import unknown_keys_error

            raise unknown_keys_error(unknown, params, f"--gap {name}")


def check_vector(config: Any, algorithm: Any, who: str) -> None:
    """``train.vector=async`` puts each env in its own process, where an intervention source
    cannot reach the worker's WA model to re-infer after a takeover."""
    from warl.core.training.contract import intervenes

    if config.vector == "async" and intervenes(algorithm, config, who):
        raise ConfigError(f"train.vector=async cannot put the expert in the loop ({who!r} "
                          f"trains with interventions); use train.vector=serial")


def check_expert(config: Any, algorithm: Any, who: str, env_spec: Any) -> None:
    """Interventions need an expert that can take over from any state: an env tagged
    ``open-loop-expert`` (its expert plans from reset) has none."""
    from warl.core.training.contract import intervenes, open_loop_message

    if "open-loop-expert" in env_spec.tags and intervenes(algorithm, config, who):
        raise ConfigError(open_loop_message(env_spec.id))


def check_select(config: Any, algorithm: Any, who: str) -> None:
    """``train.select=best`` keeps the evaluated policy weights (and the WA model's, for an
    algorithm that fine-tunes it): the algorithm must have a rollout policy of its own
    (``make_policy`` and ``policy_state``)."""
    if config.select != "best":
        return
    if not (hasattr(algorithm, "make_policy") and hasattr(algorithm, "policy_state")):
        raise ConfigError(f"train.select=best: {who!r} has no separate policy weights to keep "
                          f"(it needs make_policy and policy_state); use train.select=last")


def preflight(request: Mapping[str, Any], registry: Registry) -> None:
    """Check ``request`` (see `warl.core.training.run.make_request`) before any work."""
    from warl.core.assemble import _model_specs, resolve_gap
    from warl.core.make import resolve_target
    from warl.core.training.config import make_train_config
    from warl.core.training.contract import kind_of, needs_of

    settings = request["settings"]
    config = make_train_config(settings["train"])
    if config.backend == "ray":
        from warl.core.training.ray_backend import require_ray

        require_ray()
    algo_spec = registry.get(request["algo"], kind="algorithm")
    env_spec = registry.get(request["env"], kind="env")
    check_settings(algo_spec, {**algo_spec.defaults, **settings["algorithm"]})
    if settings["wa"]:
        check_settings(registry.get(request["wa_model"], kind="world_model"), settings["wa"])
    check_gap(resolve_gap(env_spec, request["gap"]))
    # The contract and the needs ask for the algorithm's class (its module imports torch).
    target = resolve_target(algo_spec)
    kind_of(target, algo_spec.id)
    needs = needs_of(target, algo_spec.id)
    check_vector(config, target, algo_spec.id)
    check_expert(config, target, algo_spec.id, env_spec)
    check_select(config, target, algo_spec.id)
    _model_specs(registry, algo_spec.id, needs, request.get("world_model"),
                 request.get("reward_model"))
