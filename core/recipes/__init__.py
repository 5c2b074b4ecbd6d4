"""Recipes: named experimental protocols, each one setting (``--recipe NAME``).

A recipe fixes what a protocol fixes beyond the algorithm: the deployment gap, how the WA
model is trained (how many demonstrations), the demonstration buffer, the loop settings
(budget, evaluation seeds and trials) and the algorithm settings that belong to the protocol
rather than to the method (a BC warm-up, the discount's reading). It is a YAML file: the
built-in ones live beside this module (``gap.yaml``, ``sim.yaml``); ``--recipe PATH`` reads
any other. Keys:

- ``summary``: one line for ``--help`` and the run's results card.
- ``gap``: the deployment gap (as ``--gap``); absent: the env's default.
- ``demos``: the few-shot count, ``{default: N, ENV_ID: N}``: the WA model pretrains on that
  many scripted demonstrations (``wa.demos``) and the demonstration buffer holds the same
  ones (``train.demos``).
- ``train`` / ``wa``: loop and WA-model settings.
- ``algorithm``: algorithm settings applied where the algorithm has the setting (its
  ``default_config``), e.g. ``bc_warmup_steps``.
- ``algorithms``: ``{ALGO_ID: {setting: value}}``, applied to that algorithm only.
- ``cpu``: ``{algorithm: ..., algorithms: ...}`` applied on top of those when the algorithm
  runs on a CPU (its preset resolves to ``cpu``: no CUDA device, or ``preset=cpu``), never
  with ``preset=paper``: the levers that make the protocol fit a two-core laptop, while the
  paper's architecture stays the default on a GPU.

Precedence: the recipe <- ``--config FILE`` <- ``--set``; an explicit ``--gap`` wins over the
recipe's. A run folder records the recipe's name and the settings it expanded to, so a
resumed run never reads the recipe again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from warl.core.errors import ConfigError

HERE = Path(__file__).parent
DEFAULT = "gap"
KEYS = ("summary", "gap", "demos", "train", "wa", "algorithm", "algorithms", "cpu")


@dataclass(frozen=True)
class Recipe:
    """A parsed recipe file; see the module doc for each field."""

    name: str
    summary: str = ""
    gap: Any = None
    demos: Mapping[str, int] = field(default_factory=dict)
    train: Mapping[str, Any] = field(default_factory=dict)
    wa: Mapping[str, Any] = field(default_factory=dict)
    algorithm: Mapping[str, Any] = field(default_factory=dict)
    algorithms: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    cpu: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def demos_for(self, env: str) -> int | None:
        """The few-shot demonstration count of ``env`` (None: the recipe sets none)."""
        value = self.demos.get(env, self.demos.get("default"))
        return None if value is None else int(value)


def names() -> list[str]:
    """The built-in recipes."""
    return sorted(p.stem for p in HERE.glob("*.yaml"))


def load_recipe(name: str) -> Recipe:
    """A built-in recipe by name, or a recipe file by path."""
    import yaml

    path = HERE / f"{name}.yaml" if name in names() else Path(name)
    if not path.is_file():
        import difflib

        close = difflib.get_close_matches(name, names(), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(f"--recipe {name}: no such recipe{hint}; built in: "
                          f"{', '.join(names())}, or give a YAML file's path")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"--recipe {path}: not valid YAML: {str(exc).splitlines()[0]}"
                          ) from None
    where = f"--recipe {name}"
    if not isinstance(data, Mapping) or set(data) - set(KEYS):
        got = sorted(set(data) - set(KEYS)) if isinstance(data, Mapping) else repr(data)
        raise ConfigError(f"{where}: expected a mapping with keys from {list(KEYS)}, got "
                          f"{got}")
    for key in ("demos", "train", "wa", "algorithm", "algorithms", "cpu"):
        if not isinstance(data.get(key, {}), Mapping):
            raise ConfigError(f"{where}: {key} must be a mapping, got {data[key]!r}")
    cpu = dict(data.get("cpu", {}))
    if set(cpu) - {"algorithm", "algorithms"}:
        raise ConfigError(f"{where}: cpu takes algorithm and algorithms, got {sorted(cpu)}")
    for env, count in dict(data.get("demos", {})).items():
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ConfigError(f"{where}: demos.{env} must be an integer >= 1, got {count!r}")
    stem = path.stem if path.parent == HERE else str(path)
    return Recipe(stem, str(data.get("summary", "")).strip(), data.get("gap"),
                  dict(data.get("demos", {})), dict(data.get("train", {})),
                  dict(data.get("wa", {})), dict(data.get("algorithm", {})),
                  _per_algorithm(data.get("algorithms")),
                  {"algorithm": dict(cpu.get("algorithm") or {}),
                   "algorithms": _per_algorithm(cpu.get("algorithms"))})


def _per_algorithm(value: Any) -> dict[str, dict[str, Any]]:
    return {k: dict(v or {}) for k, v in dict(value or {}).items()}


def apply_recipe(recipe: Recipe, algo: str, env: str,
                 settings: Mapping[str, Mapping[str, Any]], gap: Any,
                 algorithm_defaults: Mapping[str, Any] | None, on_cpu: bool = False
                 ) -> tuple[dict[str, Any], Any]:
    """``(settings, gap)`` with the recipe underneath the user's: ``settings`` are the
    ``algorithm`` / ``train`` / ``wa`` sections given explicitly, ``gap`` the explicit
    ``--gap`` or None, ``algorithm_defaults`` the algorithm's settings (which generic
    ``algorithm`` keys it takes; None: it takes none of them), ``on_cpu`` whether the
    recipe's ``cpu`` levers apply."""
    user = {k: dict(settings.get(k, {})) for k in ("algorithm", "train", "wa")}
    wa, train = dict(recipe.wa), dict(recipe.train)
    count = recipe.demos_for(env)
    if count is not None:
        wa["demos"] = count
        # The buffer holds the WA model's own demonstrations, also when the user changes
        # how many the WA model gets.
        train["demos"] = user["wa"].get("demos", count)
    known = set(algorithm_defaults or ())
    algorithm = {k: v for k, v in recipe.algorithm.items() if k in known}
    algorithm.update(recipe.algorithms.get(algo, {}))
    if on_cpu and recipe.cpu:
        algorithm.update({k: v for k, v in recipe.cpu["algorithm"].items() if k in known})
        algorithm.update(recipe.cpu["algorithms"].get(algo, {}))
    out = {"algorithm": {**algorithm, **user["algorithm"]}, "train": {**train, **user["train"]},
           "wa": {**wa, **user["wa"]}, "env": dict(settings.get("env", {}))}
    if gap is None:
        gap = "default" if recipe.gap is None else recipe.gap
    return out, gap


def algorithm_defaults(registry: Any, algo: str) -> dict[str, Any] | None:
    """An algorithm's settings at their defaults (its class's ``default_config``), or None."""
    from warl.core.make import resolve_target

    target = resolve_target(registry.get(algo, kind="algorithm"))
    default_config = getattr(target, "default_config", None)
    return dict(default_config()) if callable(default_config) else None


def with_recipe(name: str | None, registry: Any, algo: str, env: str,
                settings: Mapping[str, Mapping[str, Any]], gap: Any
                ) -> tuple[dict[str, Any], Any]:
    """``(settings, gap)`` of a request under recipe ``name`` (None: the default recipe,
    which sets nothing); ``gap`` None means no explicit ``--gap``."""
    if name is None or name == DEFAULT:
        return {k: dict(v) for k, v in settings.items()}, "default" if gap is None else gap
    return apply_recipe(load_recipe(name), algo, env, settings, gap,
                        algorithm_defaults(registry, algo),
                        on_cpu(dict(settings.get("algorithm", {}))))


def on_cpu(algorithm_settings: Mapping[str, Any]) -> bool:
    """Whether an algorithm with these settings runs its CPU preset: ``preset=paper`` never,
    ``preset=cpu`` always, otherwise (``auto``) when torch sees no CUDA device."""
    preset = algorithm_settings.get("preset", "auto")
    if preset in ("paper", "cpu"):
        return preset == "cpu"
    import torch

    return not torch.cuda.is_available()
