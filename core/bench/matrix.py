"""The bench spec and its cells.

A bench trains every algorithm of ``algos`` on every env of ``envs`` with ``seeds`` seeds, each
under the same online budget of ``budget`` env steps (and ``minutes`` of wall time, 0 for
none), and evaluates each on the same ``trials`` fixed seeds. An equal env-step budget for every
trained algorithm is what makes the comparison fair. WA-base is not a baseline row of every
cell (``train.baseline`` is off) but cells of its own: the ``wa-base`` algorithm.

Each cell is an ordinary ``warl train`` run folder,
``BENCH_DIR/cells/<algo>/<env with / as __>/seed<k>/``, so it resumes, plots and reports like
one. ``BENCH_DIR/bench.json`` holds the spec: a later run of the same spec into the same folder
continues it, a different one is refused.

An entry of ``algos`` may name a variant, ``<algorithm>@<label>`` (``wovr@no-kir``): the same
plugin with the settings keyed by that entry (``algorithm: {wovr@no-kir: {kir_share: 0}}``),
its own cells and its own row, for ablations beside the full method.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from warl.core.errors import ConfigError
from warl.core.runs import write_json

# The id of the frozen WA model alone; the training loop's baseline is the same algorithm.
BASELINE = "wa-base"
SPEC_FILE = "bench.json"
SPEC_KEYS = ("algos", "envs", "seeds", "budget", "minutes", "trials", "algorithm", "train", "wa",
             "gap", "wa_model", "recipe", "wa_seeds")
# A variant of an algorithm in ``algos``: ``<plugin id>@<label>``.
VARIANT = re.compile(r"[^@\s]+@[A-Za-z0-9_-]+")
# What a spec recorded before a key existed means (so that such a bench still continues).
RECORDED_DEFAULTS: dict[str, Any] = {"recipe": "gap", "wa_seeds": False}
# Train settings the bench sets in every cell, and the spec key (flag) that sets each.
CELL_TRAIN_KEYS = {"env_steps": "budget (--budget)", "minutes": "minutes (--minutes)",
                   "seed": "seeds (--seeds)", "final_trials": "trials (--trials)",
                   "baseline": "the wa-base algorithm (put wa-base in algos)"}


def plugin_of(algo: str) -> str:
    """``wovr`` for ``wovr@no-kir``; an id without ``@`` is its own plugin."""
    return algo.split("@", 1)[0]


@dataclass(frozen=True)
class Cell:
    """One run of the matrix: ``algo`` trained on ``env`` with training seed ``seed``."""

    algo: str
    env: str
    seed: int

    @property
    def plugin(self) -> str:
        """The algorithm plugin's id (``algo`` without a variant's ``@label``)."""
        return plugin_of(self.algo)

    def relative_path(self) -> str:
        return f"cells/{self.algo}/{self.env.replace('/', '__')}/seed{self.seed}"

    def path(self, root: Path) -> Path:
        return root / self.relative_path()

    def __str__(self) -> str:
        return f"{self.algo} on {self.env} seed {self.seed}"


@dataclass(frozen=True)
class BenchSpec:
    """What a bench runs; see the module doc. ``algorithm`` maps an algorithm id to its own
    settings, ``train`` and ``wa`` are shared by every cell; ``recipe`` (`warl.core.recipes`)
    lies under all of them, and ``gap`` None is the recipe's."""

    algos: tuple[str, ...]
    envs: tuple[str, ...]
    seeds: int = 1
    budget: int = 30_000
    minutes: float = 0.0
    trials: int = 50
    algorithm: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    train: Mapping[str, Any] = field(default_factory=dict)
    wa: Mapping[str, Any] = field(default_factory=dict)
    gap: Any = "default"
    wa_model: str = "warl/wa-small"
    recipe: str = "gap"
    # Each seed also pretrains its own WA model (wa.seed = the cell's seed): WA-base's seeds
    # then differ in the model, not only in its sampling noise. Seed 0 is the shared model.
    wa_seeds: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The spec as plain JSON values (the form of ``bench.json`` and of ``--config``)."""
        data = {key: getattr(self, key) for key in SPEC_KEYS}
        normal: dict[str, Any] = json.loads(json.dumps(data))
        return normal

    def cells(self) -> list[Cell]:
        """Every cell, seed by seed and task by task, so that a partial bench already holds
        whole comparisons (every algorithm on the first tasks)."""
        return [Cell(algo, env, seed) for seed in range(self.seeds) for env in self.envs
                for algo in self.algos]

    def train_settings(self, seed: int) -> dict[str, Any]:
        return {**self.train, "env_steps": self.budget, "minutes": self.minutes, "seed": seed,
                "final_trials": self.trials, "baseline": False}

    def request(self, cell: Cell) -> dict[str, Any]:
        """The cell's ``run_training`` request."""
        from warl.core.recipes import DEFAULT, with_recipe
        from warl.core.registry import default_registry
        from warl.core.training.run import make_request

        settings = {"algorithm": dict(self.algorithm.get(cell.algo, {})),
                    "train": self.train_settings(cell.seed),
                    "wa": {**self.wa, "seed": cell.seed} if self.wa_seeds else dict(self.wa)}
        settings, gap = with_recipe(self.recipe, default_registry(), cell.plugin, cell.env,
                                    settings, self.gap)
        return make_request(cell.plugin, cell.env, settings, gap, self.wa_model,
                            recipe=None if self.recipe == DEFAULT else self.recipe)


def make_spec(data: Mapping[str, Any], where: str = "bench spec") -> BenchSpec:
    """A validated `BenchSpec` from its dict form (``--config`` file merged with the flags);
    every error names the key at fault and how to set it."""
    unknown = sorted(set(data) - set(SPEC_KEYS))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; known: {list(SPEC_KEYS)}")
    algos = _names(data.get("algos"), "algos", where)
    recipe = _recipe(data.get("recipe"), where)
    spec = BenchSpec(
        algos=algos, envs=_names(data.get("envs"), "envs", where),
        seeds=_count(data.get("seeds", 1), "seeds", 1, where),
        budget=_count(data.get("budget", 30_000), "budget", 1, where),
        minutes=_minutes(data.get("minutes", 0), where),
        trials=_count(data.get("trials", 50), "trials", 1, where),
        algorithm=_algorithm_settings(data.get("algorithm"), algos, where),
        train=_train_settings(data.get("train"), where),
        wa=_section(data.get("wa"), "wa", where),
        gap=_gap(data.get("gap"), recipe), wa_model=str(data.get("wa_model") or "warl/wa-small"),
        recipe=recipe, wa_seeds=_flag(data.get("wa_seeds", False), "wa_seeds", where))
    from warl.core.training.config import make_train_config

    make_train_config(spec.train_settings(0))  # a bad train.KEY fails now, not in every cell
    if spec.wa_seeds and "seed" in spec.wa:
        raise ConfigError(f"{where}: wa.seed is set by wa_seeds (each cell's seed); drop one")
    return spec


def _gap(value: Any, recipe: str) -> Any:
    """The gap as given; none given is the env's own under the default recipe, else the
    recipe's (None)."""
    from warl.core.recipes import DEFAULT

    return "default" if value is None and recipe == DEFAULT else value


def _recipe(value: Any, where: str) -> str:
    """The recipe's name (or file), checked now: a bad one fails before any cell."""
    from warl.core.recipes import DEFAULT, load_recipe

    if value is None:
        return DEFAULT
    if not isinstance(value, str):
        raise ConfigError(f"{where}: recipe must be a recipe name or file, got {value!r}")
    load_recipe(value)
    return value


def _flag(value: Any, key: str, where: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{where}: {key} must be true or false, got {value!r}")
    return value


def _names(value: Any, key: str, where: str) -> tuple[str, ...]:
    """A list of ids, given as a YAML list or as ``a,b,c``."""
    items = value.split(",") if isinstance(value, str) else value
    if items is None:
        items = []
    if not isinstance(items, (list, tuple)) or not all(isinstance(i, str) for i in items):
        raise ConfigError(f"{where}: {key} must be a list of ids, got {value!r}")
    names = tuple(i.strip() for i in items if i.strip())
    if not names:
        raise ConfigError(f"{where}: no {key}; give --{key} a,b or `{key}: [a, b]` in "
                          f"--config FILE")
    bad = [n for n in names if "@" in n and not VARIANT.fullmatch(n)]
    if bad:
        raise ConfigError(f"{where}: {key} entries {bad} are not <id>@<label> with a label of "
                          f"letters, digits, - or _ (e.g. wovr@no-kir)")
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError(f"{where}: {key} lists {duplicates} more than once")
    return names


def _count(value: Any, key: str, minimum: int, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{where}: {key} must be an integer >= {minimum}, got {value!r} "
                          f"(--{key} N or `{key}: N` in --config FILE)")
    return value


def _minutes(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ConfigError(f"{where}: minutes must be a number >= 0 (0: no wall-clock limit), "
                          f"got {value!r}")
    return float(value)


def _section(value: Any, key: str, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where}: {key} must be a mapping of settings, got {value!r}")
    return dict(value)


def _algorithm_settings(value: Any, algos: tuple[str, ...],
                        where: str) -> dict[str, dict[str, Any]]:
    """``{algo id: {setting: value}}``; every id must be one of ``algos``."""
    sections = _section(value, "algorithm", where)
    unknown = sorted(set(sections) - set(algos))
    if unknown:
        raise ConfigError(
            f"{where}: algorithm settings for {unknown}, which are not in algos {list(algos)}; "
            f"key them by an algorithm of the bench (`algorithm: {{halo-wa: {{hidden: 32}}}}` "
            f"or --set halo-wa.hidden=32)")
    return {algo: _section(settings, f"algorithm.{algo}", where)
            for algo, settings in sections.items()}


def _train_settings(value: Any, where: str) -> dict[str, Any]:
    settings = _section(value, "train", where)
    for key in settings:
        if key in CELL_TRAIN_KEYS:
            raise ConfigError(f"{where}: train.{key} is set by the bench in every cell; use "
                              f"{CELL_TRAIN_KEYS[key]} instead")
    return settings


def read_config(path: Path) -> dict[str, Any]:
    """A ``--config`` YAML file as a dict of spec keys (validated by `make_spec`)."""
    import yaml

    if not path.is_file():
        raise ConfigError(f"--config {path}: no such file")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"--config {path}: not valid YAML: {exc}") from None
    if not isinstance(data, Mapping):
        raise ConfigError(f"--config {path}: expected a mapping with keys {list(SPEC_KEYS)}")
    return dict(data)


def apply_sets(data: Mapping[str, Any], sets: Mapping[str, Any],
               where: str = "bench spec") -> dict[str, Any]:
    """``data`` with ``--set`` values: ``train.KEY`` and ``wa.KEY`` go to the shared sections,
    ``ALGO.KEY`` to that algorithm's settings."""
    out = {**data, "train": _section(data.get("train"), "train", where),
           "wa": _section(data.get("wa"), "wa", where)}
    algorithm = {algo: _section(settings, f"algorithm.{algo}", where) for algo, settings
                 in _section(data.get("algorithm"), "algorithm", where).items()}
    for key, value in sets.items():
        section, _, name = key.partition(".")
        if not name:
            raise ConfigError(f"--set {key}=...: name whose setting it is: ALGO.KEY (e.g. "
                              f"halo-wa.hidden=32), train.KEY or wa.KEY")
        if section in ("train", "wa"):
            out[section][name] = value
        else:
            algorithm.setdefault(section, {})[name] = value
    out["algorithm"] = algorithm
    return out


def check_ids(spec: BenchSpec, registry: Any) -> None:
    """Fail before any cell runs if an id is not registered or a cell's settings are bad
    (every cell's request goes through `warl train`'s preflight)."""
    from warl.core.training.preflight import preflight

    for algo in spec.algos:
        registry.get(plugin_of(algo), kind="algorithm")
    for env in spec.envs:
        registry.get(env, kind="env")
    for algo in spec.algos:
        for env in spec.envs:
            preflight(spec.request(Cell(algo, env, 0)), registry)


def read_spec(root: Path) -> BenchSpec:
    path = root / SPEC_FILE
    if not path.is_file():
        raise ConfigError(f"{root}: no {SPEC_FILE} there; is it a `warl bench` folder?")
    return make_spec(json.loads(path.read_text())["spec"], str(path))


def write_spec(root: Path, spec: BenchSpec) -> None:
    """Record ``spec`` in ``root``, or check that it is the one already recorded there."""
    path, wanted = root / SPEC_FILE, spec.to_dict()
    if path.is_file():
        recorded = json.loads(path.read_text())["spec"]
        differs = [key for key in SPEC_KEYS
                   if recorded.get(key, RECORDED_DEFAULTS.get(key)) != wanted[key]]
        if differs:
            raise ConfigError(
                f"{root} holds a bench with a different spec (differs in {differs}; see "
                f"{path}). Rerun it with the same spec to continue it, choose a new --out, or "
                f"re-render it with `warl bench report {root}`")
        return
    if root.exists() and any(root.iterdir()):
        raise ConfigError(f"--out {root} exists, is not empty and has no {SPEC_FILE}; choose a "
                          f"new folder for the bench")
    write_json(path, {"spec": wanted})
