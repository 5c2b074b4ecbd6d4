"""One training run from a request to a finished run folder: what ``warl train`` and every
cell of ``warl bench`` do.

A request is ``{algo, env, gap, wa_model, settings: {algorithm, train, wa}}``; it is written to
``config.json`` so that ``resume`` rebuilds the same run from the folder alone.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from warl.core.errors import ConfigError
from warl.core.registry import Registry, default_registry


def quiet_torchrl() -> None:
    """TorchRL announces every storage it allocates at INFO, on stdout (which ``--json``
    owns). It sets its level from RL_LOGGING_LEVEL when first imported, and may already be."""
    import logging
    import os

    os.environ.setdefault("RL_LOGGING_LEVEL", "WARNING")
    logging.getLogger("torchrl").setLevel(logging.WARNING)
    for handler in logging.getLogger("torchrl").handlers:
        handler.setLevel(logging.WARNING)


# The settings sections of a request: the algorithm's, the loop's (``train.``), the WA model's
# (``wa.``) and the env's (``env.``: keyword arguments of the env, e.g. a remote env's url).
SECTIONS = ("algorithm", "train", "wa", "env")


def make_request(algo: str, env: str, settings: Mapping[str, Mapping[str, Any]] | None = None,
                 gap: Any = "default", wa_model: str | None = None,
                 world_model: str | None = None, reward_model: str | None = None,
                 recipe: str | None = None) -> dict[str, Any]:
    sections: dict[str, dict[str, Any]] = {k: {} for k in SECTIONS}
    for section, values in (settings or {}).items():
        if section not in sections:
            raise ConfigError(f"unknown settings section {section!r}; expected one of "
                              f"{sorted(sections)}")
        sections[section] = dict(values)
    if wa_model is None:  # the algorithm's own default (`wa_model_for`)
        from warl.core.assemble import DEFAULT_WA_MODEL, wa_model_for
        from warl.core.errors import UnknownIdError
        from warl.core.registry import default_registry

        try:
            wa_model = wa_model_for(default_registry(), algo)
        except UnknownIdError:  # an algorithm of another registry; preflight names a typo
            wa_model = DEFAULT_WA_MODEL
    request = {"algo": algo, "env": env, "gap": gap, "wa_model": wa_model, "settings": sections}
    if recipe:
        request["recipe"] = recipe  # provenance: ``settings`` already hold what it set
    if world_model:
        request["world_model"] = world_model
    if reward_model:
        request["reward_model"] = reward_model
    return request


def _selected(config: Any, counters: Any) -> dict[str, Any]:
    """Which weights the final rows ran, with ``train.select=best``."""
    if config.select != "best" or counters.best_eval_sr is None:
        return {}
    return {"selected_env_steps": counters.best_eval_steps,
            "selected_validation_sr": counters.best_eval_sr}


def _selection_facts(config: Any, counters: Any) -> dict[str, Any]:
    facts: dict[str, Any] = {}
    if config.final_list != config.eval_seed:
        facts["evaluations during training"] = f"seed list {config.eval_seed} (validation)"
    selected = _selected(config, counters)
    if selected:
        facts["final weights"] = (
            f"the best evaluation during training: {selected['selected_env_steps']} env "
            f"steps, {100 * selected['selected_validation_sr']:.0f}% on the validation list")
    elif config.select == "best":
        facts["final weights"] = "the last (no evaluation ran during training)"
    return facts


def read_request(run_dir: Path) -> dict[str, Any]:
    """The request a run folder was started with (``config.json``), checked for shape."""
    path = run_dir / "config.json"
    if not path.is_file():
        raise ConfigError(f"{run_dir}: no config.json there; is it a `warl train` run folder?")
    try:
        request = json.loads(path.read_text())["request"]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        what = f"not valid JSON ({exc})" if isinstance(exc, json.JSONDecodeError) else \
            "no 'request' in it"
        raise ConfigError(f"{path}: {what}; it is written by `warl train`: restore it from a "
                          f"copy, or start a new run") from None
    missing = {"algo", "env", "gap", "wa_model", "settings"} - set(request)
    if not isinstance(request.get("settings"), Mapping) or missing:
        raise ConfigError(f"{path}: the request lacks {sorted(missing) or ['settings']}; "
                          f"restore it from a copy, or start a new run")
    sections = {**{k: {} for k in SECTIONS}, **request["settings"]}
    bad = [k for k, v in sections.items() if not isinstance(v, Mapping)]
    if bad or set(sections) - set(SECTIONS):
        raise ConfigError(f"{path}: settings sections must be {', '.join(SECTIONS)}, each "
                          f"a mapping; got {sorted(sections)}")
    request["settings"] = sections
    return dict(request)


def assemble_request(request: Mapping[str, Any], registry: Registry, *, render: bool,
                     show_progress: bool, gap: Any = None, training: bool = False) -> Any:
    """The `Assembly` a request describes (``gap`` overrides the request's), seeded as its
    training was: what a run trains on and what `warl eval --run` evaluates on."""
    from warl.core.assemble import assemble
    from warl.core.training.config import make_train_config

    settings = request["settings"]
    env_settings = dict(settings.get("env", {}))
    if training and "remote" in registry.get(request["env"], kind="env").tags:
        # A training session acknowledges what its checkpoints hold (`durable`), not what
        # was delivered.
        env_settings["auto_ack"] = False
    return assemble(registry, request["algo"], request["env"],
                    algo_settings=settings["algorithm"], wa_model_id=request["wa_model"],
                    wa_settings=settings["wa"], env_settings=env_settings,
                    gap=request["gap"] if gap is None else gap,
                    gap_seed=make_train_config(settings["train"]).seed, render=render,
                    show_progress=show_progress, world_model_id=request.get("world_model"),
                    reward_model_id=request.get("reward_model"))


def run_training(request: Mapping[str, Any], out: Path, *, resume: bool = False,
                 show_progress: bool = True, registry: Registry | None = None) -> dict[str, Any]:
    """Assemble, train (or continue) in ``out``, plot and write ``results.json`` / ``.md``;
    returns the summary (``results.json`` without the config)."""
    quiet_torchrl()
    from warl.core.runs import write_json
    from warl.core.training.card import comparison_rows, results_card
    from warl.core.training.config import make_train_config
    from warl.core.training.plots import plot_run
    from warl.core.training.preflight import preflight
    from warl.core.training.runner import BASELINE, train

    settings = request["settings"]
    registry = registry or default_registry()
    preflight(request, registry)  # every input checked before any work
    train_config = make_train_config(settings["train"])
    setup = assemble_request(request, registry, render=train_config.videos > 0,
                             show_progress=show_progress, training=True)
    out.mkdir(parents=True, exist_ok=True)
    algo_config: Any = getattr(setup.algorithm, "config", None)
    resolved = {**setup.config, "train": train_config.to_dict(),
                "algorithm_config": algo_config.to_dict() if hasattr(algo_config, "to_dict")
                else setup.config["algorithm_settings"]}
    if not resume:
        write_json(out / "config.json", {"request": dict(request), "resolved": resolved,
                                         "versions": setup.versions()})
    try:
        result = train(setup, train_config, out, registry, resume=resume,
                       show_progress=show_progress)
    finally:
        setup.close()
    plot_run(out)
    methods = [(BASELINE, result.baseline)] if result.baseline is not None else []
    methods += list(result.finals.items())
    rows = comparison_rows(request["env"], methods)
    c = result.counters
    summary = {"run_dir": str(out), "algorithm": request["algo"], "env": request["env"],
               "seed": train_config.seed, "rows": rows,
               "deployment_gap": setup.config["deployment_gap"], "online_env_steps": c.env_steps,
               "episodes": c.episodes, "updates": c.updates,
               "online_minutes": round(c.online_s / 60, 2),
               "total_minutes": round(c.wall_s / 60, 2), "eval_seed": train_config.final_list,
               "validation_seed": train_config.eval_seed, "select": train_config.select,
               **_selected(train_config, c)}
    facts = {
        "deployment gap": json.dumps(setup.config["deployment_gap"]) or "none",
        "online env steps": c.env_steps, "episodes": c.episodes, "updates": c.updates,
        "online training time": f"{c.online_s / 60:.1f} min",
        "total wall time (all stages, this run folder)": f"{c.wall_s / 60:.1f} min",
        "evaluation seeds": f"list {train_config.final_list} (the same for every row)",
        **_selection_facts(train_config, c),
    }
    write_json(out / "results.json", {**summary, "config": resolved,
                                      "versions": setup.versions()})
    card = results_card(f"{request['algo']} on {request['env']}", rows, facts)
    (out / "results.md").write_text(card)
    return summary
