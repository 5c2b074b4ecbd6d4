"""Settings of the SB3 pass-through algorithms: one frozen dataclass per algorithm.

Defaults are stable-baselines3's own, except where a warl run needs something else (noted
per field): a smaller network for the CPU, Gaussian exploration noise for TD3 (SB3 has none
by default, and TD3 without it does not explore). Every value is checked here, so a typo
fails before any env is built, naming the key.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar

from warl.core.errors import ConfigError, check_known_settings

REWARDS = ("sparse", "dense")
DEVICES = ("cpu", "cuda", "auto")


@dataclass(frozen=True)
class SB3Config:
    """What every SB3 pass-through algorithm takes.

    Attributes:
        reward: ``sparse`` (the env's own reward: success, per the warl contract) or
            ``dense`` (the env is built with ``reward_type="dense"``, e.g. MetaWorld's shaped
            reward; an env without that setting is refused). Evaluation always counts
            successes, whatever the training reward [sparse].
        learning_rate: Adam step size of every network [3e-4].
        batch_size: transitions per gradient step [256].
        gamma: discount per env step [0.99].
        net_arch: hidden widths of the actor and of each critic [256, 256].
        policy_kwargs: passed to the SB3 policy as is (``net_arch`` above wins); an
            ``activation_fn`` may be named (``relu``, ``tanh``, ...) since a class cannot be
            written in a setting [{}].
        seed: seeds SB3 (networks, exploration, its sampling) [0].
        device: ``cpu``, ``cuda`` or ``auto`` [cpu: small MLPs gain nothing on a GPU].
    """

    reward: str = "sparse"
    learning_rate: float = 3e-4
    batch_size: int = 256
    gamma: float = 0.99
    net_arch: tuple[int, ...] = (256, 256)
    policy_kwargs: Mapping[str, Any] = field(default_factory=dict)
    seed: int = 0
    device: str = "cpu"

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["net_arch"] = list(self.net_arch)
        out["policy_kwargs"] = dict(self.policy_kwargs)
        return out

    def sb3_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of the SB3 constructor (policy and env aside)."""
        skip = {"reward", "net_arch", "policy_kwargs"}
        kwargs = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                  if f.name not in skip}
        kwargs["policy_kwargs"] = policy_kwargs(self, "")
        return kwargs


@dataclass(frozen=True)
class OffPolicyConfig(SB3Config):
    """Replay-based (SAC, TD3) settings, on top of `SB3Config`'s.

    Attributes:
        buffer_size: replay capacity in transitions [1_000_000].
        learning_starts: env steps of uniformly random actions before the first update [100].
        tau: Polyak rate of the target networks [0.005].
        train_freq: env steps between two training phases [1].
        gradient_steps: gradient steps per training phase [1].
    """

    buffer_size: int = 1_000_000
    learning_starts: int = 100
    tau: float = 0.005
    train_freq: int = 1
    gradient_steps: int = 1


@dataclass(frozen=True)
class SACConfig(OffPolicyConfig):
    """SAC's settings (`OffPolicyConfig`'s plus the entropy coefficient).

    Attributes:
        ent_coef: a fixed coefficient (a number), or ``auto`` / ``auto_<init>`` to learn it
            towards the target entropy -|A| [auto].
    """

    ent_coef: str | float = "auto"


@dataclass(frozen=True)
class TD3Config(OffPolicyConfig):
    """TD3's settings (`OffPolicyConfig`'s plus its noise and delay).

    Attributes:
        action_noise: std of the Gaussian noise added to the actor's action while collecting,
            in units of the action range's half-width; 0 turns it off [0.1, TD3's paper value;
            SB3 defaults to none].
        policy_delay: critic updates per actor (and target) update [2].
        target_policy_noise: std of the target policy smoothing noise [0.2].
        target_noise_clip: its clip [0.5].
    """

    action_noise: float = 0.1
    policy_delay: int = 2
    target_policy_noise: float = 0.2
    target_noise_clip: float = 0.5

    def sb3_kwargs(self) -> dict[str, Any]:
        kwargs = super().sb3_kwargs()
        kwargs.pop("action_noise")  # an SB3 noise object, built with the action space
        return kwargs


@dataclass(frozen=True)
class PPOConfig(SB3Config):
    """PPO's settings (`SB3Config`'s with SB3's PPO defaults, plus the rollout and clip).

    Attributes:
        batch_size: minibatch size [64].
        net_arch: hidden widths of the policy and of the value network [64, 64].
        n_steps: env steps per rollout (one update phase each) [2048].
        n_epochs: passes over each rollout [10].
        gae_lambda: GAE's lambda [0.95].
        clip_range: PPO's ratio clip [0.2].
        ent_coef: entropy bonus [0.0].
        vf_coef: value loss weight [0.5].
        max_grad_norm: gradient clip [0.5].
    """

    batch_size: int = 64
    net_arch: tuple[int, ...] = (64, 64)
    n_steps: int = 2048
    n_epochs: int = 10
    gae_lambda: float = 0.95
    clip_range: float = 0.2
    ent_coef: float = 0.0
    vf_coef: float = 0.5
    max_grad_norm: float = 0.5


ConfigT = TypeVar("ConfigT", bound=SB3Config)

# Lower bounds, checked for every field a config has.
AT_LEAST_ONE = ("batch_size", "buffer_size", "train_freq", "gradient_steps", "policy_delay",
                "n_steps", "n_epochs")
AT_LEAST_ZERO = ("learning_starts", "action_noise", "target_policy_noise", "target_noise_clip",
                 "vf_coef", "seed")
POSITIVE = ("learning_rate", "clip_range", "max_grad_norm")
UNIT_INTERVAL = ("gamma", "tau", "gae_lambda")  # (0, 1]


def make_config(config_class: type[ConfigT], settings: Mapping[str, Any], what: str) -> ConfigT:
    """``config_class`` with ``settings`` applied; a `ConfigError` names any unknown key or
    bad value (``what`` is the algorithm id, for the message)."""
    check_known_settings(config_class, settings, what)
    defaults = config_class()
    values = {name: _coerce(what, name, value, getattr(defaults, name))
              for name, value in settings.items()}
    config = dataclasses.replace(defaults, **values)
    _validate(config, what)
    return config


def _coerce(what: str, name: str, value: Any, default: Any) -> Any:
    """``value`` in the type of the field's default (settings may come as text or lists)."""
    def bad(expected: str) -> ConfigError:
        return ConfigError(f"{what}: {name} must be {expected}, got {value!r}")

    if isinstance(value, str) and isinstance(default, (int, float)) and \
            not isinstance(default, bool):
        with contextlib.suppress(ValueError):  # YAML reads 3e-4 (no dot) as text
            value = float(value)
    if name == "ent_coef" and isinstance(default, str):
        if isinstance(value, str) and (value == "auto" or value.startswith("auto_")):
            return value
        return _coerce(what, name, value, 0.0)
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise bad("true or false")
        return value
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or \
                float(value) != int(value):
            raise bad("an integer")
        return int(value)
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or \
                not math.isfinite(value):
            raise bad("a number")
        return float(value)
    if isinstance(default, str):
        if not isinstance(value, str):
            raise bad("a string")
        return value
    if isinstance(default, tuple):
        if not isinstance(value, (list, tuple)) or not all(
                isinstance(w, int) and not isinstance(w, bool) and w > 0 for w in value):
            raise bad("a list of positive integers")
        return tuple(value)
    if isinstance(default, Mapping):
        if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
            raise bad("a mapping of keyword arguments")
        return dict(value)
    return value


def _validate(config: SB3Config, what: str) -> None:
    names = {f.name for f in dataclasses.fields(config)}

    def check(group: tuple[str, ...], ok: Any, expected: str) -> None:
        for name in names.intersection(group):
            value = getattr(config, name)
            if not ok(value):
                raise ConfigError(f"{what}: {name} must be {expected}, got {value!r}")

    check(("reward",), lambda v: v in REWARDS, f"one of {REWARDS}")
    check(("device",), lambda v: v in DEVICES, f"one of {DEVICES}")
    check(AT_LEAST_ONE, lambda v: v >= 1, ">= 1")
    check(AT_LEAST_ZERO, lambda v: v >= 0, ">= 0")
    check(POSITIVE, lambda v: v > 0, "> 0")
    check(UNIT_INTERVAL, lambda v: 0 < v <= 1, "in (0, 1]")
    check(("ent_coef",), lambda v: isinstance(v, str) or v >= 0, "auto, auto_<init> or >= 0")
    check(("n_steps",), lambda v: v >= 2, ">= 2 (PPO normalizes advantages over a rollout)")
    ent_coef = getattr(config, "ent_coef", None)
    if isinstance(ent_coef, str):
        _check_auto_init(ent_coef, what)
    policy_kwargs(config, what)  # names a bad activation_fn now, not at construction


def _check_auto_init(ent_coef: str, what: str) -> None:
    if ent_coef == "auto":
        return
    try:
        if float(ent_coef.removeprefix("auto_")) > 0:
            return
    except ValueError:
        pass
    raise ConfigError(f"{what}: ent_coef must be auto, auto_<positive init> or >= 0, "
                      f"got {ent_coef!r}")


def policy_kwargs(config: SB3Config, what: str) -> dict[str, Any]:
    """SB3's ``policy_kwargs``: ``net_arch`` and a named ``activation_fn`` resolved."""
    kwargs = dict(config.policy_kwargs)
    kwargs["net_arch"] = list(config.net_arch)
    activation = kwargs.get("activation_fn")
    if isinstance(activation, str):
        import torch.nn

        classes = {name.lower(): getattr(torch.nn, name) for name in dir(torch.nn)
                   if isinstance(getattr(torch.nn, name), type)
                   and issubclass(getattr(torch.nn, name), torch.nn.Module)}
        if activation.lower() not in classes:
            raise ConfigError(f"{what}: policy_kwargs.activation_fn {activation!r} is no torch.nn "
                              f"module (e.g. relu, tanh, elu)")
        kwargs["activation_fn"] = classes[activation.lower()]
    return kwargs


# `warl train`'s checks before any work, one per algorithm id (registry.yaml ``settings``).
def check_sac(settings: Mapping[str, Any]) -> None:
    make_config(SACConfig, settings, "sb3/sac")


def check_td3(settings: Mapping[str, Any]) -> None:
    make_config(TD3Config, settings, "sb3/td3")


def check_ppo(settings: Mapping[str, Any]) -> None:
    make_config(PPOConfig, settings, "sb3/ppo")
