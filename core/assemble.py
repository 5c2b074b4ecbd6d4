"""Put an algorithm, its WA model and a deployment env together, the same way for every command.

Order matters: the WA model is loaded (or pretrained) first, because it decides which cameras
the env must render; then the env is made, checked against the model, wrapped in the
deployment gap and in `ChunkedEnv`; then the algorithm is built on both.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from warl.core.envs.chunked import ChunkedEnv
from warl.core.envs.gap import apply_deployment_gap
from warl.core.errors import ConfigError, ContractError
from warl.core.make import resolve_target
from warl.core.registry import Registry
from warl.core.spec import PluginSpec
from warl.core.world_model import WorldActionModel, check_compatible, env_kwargs_for

DEFAULT_WA_MODEL = "warl/wa-small"


def wa_model_for(registry: Registry, algo_id: str, requested: str | None = None) -> str:
    """The WA model a run of ``algo_id`` uses: ``requested``, else the algorithm's own
    ``default_wa_model`` (WAM-RL's joint model), else `DEFAULT_WA_MODEL`."""
    if requested:
        return requested
    target = resolve_target(registry.get(algo_id, kind="algorithm"))
    return str(getattr(target, "default_wa_model", DEFAULT_WA_MODEL))


@dataclass
class Assembly:
    """Everything a run needs; ``specs`` records which plugin (and version) provided what."""

    env: ChunkedEnv
    algorithm: Any
    wa_model: WorldActionModel | None
    specs: dict[str, PluginSpec] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    world_model: Any = None
    reward_model: Any = None

    def versions(self) -> dict[str, str]:
        from warl import __version__

        out = {"warl": __version__}
        for spec in self.specs.values():
            out[spec.provider] = spec.provider_version
        return out

    def close(self) -> None:
        self.env.close()


def resolve_gap(spec: PluginSpec, gap: str | Mapping[str, Any] | None) -> dict[str, Any]:
    """``default`` -> the env spec's gap; ``none`` -> no gap; a mapping, JSON text or a file."""
    if gap is None or gap == "none":
        return {}
    if gap == "default":
        return dict(spec.deployment_gap)
    if isinstance(gap, Mapping):
        return dict(gap)
    import yaml

    text = Path(gap).read_text() if Path(gap).is_file() else gap
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        first = " ".join(str(exc).split())
        raise ConfigError(
            f"--gap {gap!r} is neither default, none, a file nor YAML/JSON ({first})"
        ) from None
    if not isinstance(value, Mapping):
        raise ConfigError(
            f"--gap must be default, none, a YAML/JSON mapping or a file holding one; got {gap!r}"
        )
    return dict(value)


def assemble(
    registry: Registry,
    algo_id: str,
    env_id: str,
    *,
    algo_settings: Mapping[str, Any] | None = None,
    wa_model_id: str = DEFAULT_WA_MODEL,
    wa_settings: Mapping[str, Any] | None = None,
    gap: str | Mapping[str, Any] | None = "default",
    gap_seed: int = 0,
    render: bool = False,
    show_progress: bool = True,
    world_model_id: str | None = None,
    reward_model_id: str | None = None,
    env_settings: Mapping[str, Any] | None = None,
) -> Assembly:
    """Build the WA model (if the algorithm needs one), the deployment env, the world and
    reward models it needs, and the algorithm. A need that cannot be met is refused first.

    ``env_settings`` are keyword arguments of the env. A remote env (tagged ``remote``) is
    connected first: the id it serves (from the handshake) is what the WA model is keyed on,
    and its deployment gap is the serving side's (`warl serve --gap`), so ``gap`` may only be
    ``default`` or ``none`` here."""
    from warl.core.training.contract import needs_of

    algo_spec = registry.get(algo_id, kind="algorithm")
    env_spec = registry.get(env_id, kind="env")
    target = resolve_target(algo_spec)
    needs = needs_of(target, algo_spec.id)
    models = _model_specs(registry, algo_spec.id, needs, world_model_id, reward_model_id)
    remote, served = "remote" in env_spec.tags, env_spec.id
    deployment_gap = {} if remote else resolve_gap(env_spec, gap)
    # An algorithm that learns its simulator from rollouts of the env without the gap
    # (`requires_no_gap`, the reason) would learn a world other than the one it deploys in.
    no_gap = str(getattr(target, "requires_no_gap", ""))
    if no_gap and deployment_gap:
        raise ConfigError(f"{algo_spec.id}: {no_gap}; run it with --gap none (or --recipe sim)")
    specs = {"algorithm": algo_spec, "env": env_spec, **models}
    wa_model: WorldActionModel | None = None
    env_kwargs: dict[str, Any] = dict(env_settings or {})
    # An imagined env stands for its source env: the WA model, demonstrations and expert
    # are the source's, and the world model decodes the observations the WA model reads.
    imagined = "imagined" in env_spec.tags and bool(env_kwargs.get("source"))
    if imagined:
        served = str(env_kwargs["source"])
    wa_kwargs: dict[str, Any] = {}
    if remote:
        if gap not in (None, "none", "default") and gap != {}:
            raise ConfigError("--gap: the deployment gap of a remote env is applied where it "
                              "runs (`warl serve ENV --gap ...`); give default or none here")
        env_kwargs.setdefault("stream", "train")
        if render:
            env_kwargs.setdefault("render_mode", "rgb_array")
        remote_env = registry.make(env_spec.id, kind="env", **env_kwargs)
        served = str(remote_env.unwrapped.served_id)
    if "wa_model" in needs:
        wa_spec = registry.get(wa_model_id, kind="world_model")
        specs["wa_model"] = wa_spec
        wa_model = registry.make(wa_spec.id, kind="world_model", env=served,
                                 show_progress=show_progress, **dict(wa_settings or {}))
        if not isinstance(wa_model, WorldActionModel):
            raise ContractError(f"{wa_spec.id!r} did not build a WorldActionModel")
        # A served env renders what `warl serve --cameras` says, an imagined one what its
        # world model decodes.
        if not remote and not imagined:
            wa_kwargs = env_kwargs_for(wa_model)
            env_kwargs = {**wa_kwargs, **env_kwargs}
    # Videos from the env's render() unless the WA model's cameras are in the observation.
    if render and not wa_kwargs and not remote:
        env_kwargs.setdefault("render_mode", "rgb_array")
    base = remote_env if remote else registry.make(env_spec.id, kind="env", **env_kwargs)
    if wa_model is not None:
        check_compatible(wa_model, base, served)
    deployed = apply_deployment_gap(base, deployment_gap, seed=gap_seed)
    settings = {**algo_spec.defaults, **dict(algo_settings or {})}
    built = {name: registry.make(spec.id, kind=spec.kind, env=env_id)
             for name, spec in models.items()}
    extra = {"wa_model": wa_model} if wa_model is not None else {}
    extra.update(built)
    algorithm = registry.make(algo_spec.id, deployed, kind="algorithm", **extra,
                              **dict(algo_settings or {}))
    chunk = int(getattr(algorithm, "chunk", 1))
    config = {
        "algorithm": algo_spec.id,
        "algorithm_settings": settings,
        "env": env_spec.id,
        **({"served_env": served} if remote else {}),
        **({"source_env": served} if imagined else {}),
        "env_kwargs": {**env_spec.defaults, **env_kwargs},
        "deployment_gap": deployment_gap,
        "wa_model": None if wa_model is None else {
            "id": wa_model_id, "config": json.loads(json.dumps(dict(wa_model.config))),
        },
        "chunk": chunk,
        **{name: spec.id for name, spec in models.items()},
    }
    return Assembly(ChunkedEnv(deployed, chunk), algorithm, wa_model, specs, config,
                    world_model=built.get("world_model"), reward_model=built.get("reward_model"))


def _model_specs(registry: Registry, algo_id: str, needs: frozenset[str],
                 world_model_id: str | None, reward_model_id: str | None
                 ) -> dict[str, PluginSpec]:
    """The world and reward model specs the algorithm needs, refused before any work when
    one is needed and not given (or given and not needed)."""
    out: dict[str, PluginSpec] = {}
    for need, given, kind, flag in (("world_model", world_model_id, "world_model",
                                     "--world-model"),
                                    ("reward_model", reward_model_id, "reward",
                                     "--reward-model")):
        if need in needs and not given:
            raise ConfigError(f"{algo_id!r} needs a {kind.replace('_', ' ')}: give {flag} ID "
                              f"(`warl list --kind {kind}` shows the ids)")
        if given and need not in needs:
            raise ConfigError(f"{flag} {given}: {algo_id!r} does not use a "
                              f"{kind.replace('_', ' ')} (its needs: {sorted(needs)})")
        if given:
            out[need] = registry.get(given, kind=kind)
    return out
