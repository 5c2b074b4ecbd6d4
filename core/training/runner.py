"""`train`: one run, as a function. The core's part is short:

baseline (``wa-base``, the frozen WA model alone, on the fixed seeds) -> the demonstration
buffer (when the algorithm needs ``demos``) -> ``algorithm.train(session)`` -> the final
evaluation of the algorithm and of each variant it names. Each stage is resumable: a
checkpoint records which stages finished, and the algorithm's own stages resume from the
session's counters.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from warl.core.assemble import Assembly
from warl.core.evaluate import EvalResult
from warl.core.registry import Registry
from warl.core.runs import write_json
from warl.core.training import demos as demo_buffer
from warl.core.training.checkpoint import checkpoint_dir
from warl.core.training.config import TrainConfig
from warl.core.training.contract import kind_of
from warl.core.training.log import RunLog
from warl.core.training.selection import load_selected
from warl.core.training.session import SCRATCH, Counters, Session
from warl.core.training.transitions import to_tensordict

BASELINE = "wa-base"


@dataclass
class TrainResult:
    run_dir: Path
    baseline: EvalResult | None
    finals: dict[str, EvalResult]
    counters: Counters

    @property
    def final(self) -> EvalResult | None:
        """The algorithm's own final evaluation (the first of ``finals``)."""
        return next(iter(self.finals.values()), None)


def baseline(session: Session) -> EvalResult | None:
    """WA-base on the final evaluation's seeds (``baseline.json``), for the table."""
    c, setup = session.config, session.setup
    path = session.run_dir / "baseline.json"
    if not c.baseline or setup.wa_model is None or session.algorithm_id == BASELINE:
        return None
    if path.is_file():
        return load_eval(path)
    base = session.registry.make(BASELINE, setup.env.env, kind="algorithm",
                                 wa_model=setup.wa_model, chunk=setup.env.chunk)
    result = session.evaluate(base.act, c.final_trials, BASELINE, c.videos)
    write_json(path, {"algorithm": BASELINE, **result.to_dict()})
    return result


def fill_demos(session: Session) -> None:
    """``train.demos`` scripted-expert episodes (cached) as RL states of the session's policy
    in the demonstration buffer."""
    c, setup = session.config, session.setup
    if c.demo_source == "none" or c.demos == 0:
        return
    from warl.core.checkpoints import cache_root, config_hash
    from warl.core.progress import progress_bar
    from warl.core.world_model import env_kwargs_for

    seed_base = demo_buffer.DEMO_SEED_BASES[c.demo_source]
    # A remote env's demonstrations are the served env's, recorded on a local instance of it;
    # an imagined env's are its source env's, recorded in the real simulator.
    stands_for = setup.config.get("served_env") or setup.config.get("source_env")
    env_id = stands_for or session.env_id
    env_kwargs = env_kwargs_for(setup.wa_model) if stands_for and \
        setup.wa_model is not None else setup.config["env_kwargs"]
    gap = setup.config["deployment_gap"] if c.demo_source == "deployment" else {}
    key = {"env": env_id, "env_kwargs": env_kwargs, "gap": gap,
           "chunk": setup.env.chunk, "episodes": c.demos, "seed_base": seed_base}
    path = cache_root() / "demo_buffers" / env_id.replace("/", "__") / \
        f"{c.demo_source}-{config_hash(key)}.npz"
    # Lab demos come from a fresh env without the gap wrappers.
    env = setup.env.env if gap else session.registry.make(env_id, kind="env", **env_kwargs)
    try:
        with progress_bar(f"demo buffer ({c.demo_source})", c.demos,
                          session.show_progress and not path.is_file()) as advance:
            episodes = demo_buffer.load_or_record(path, env, env_id, setup.env.chunk,
                                                  c.demos, seed_base, advance)
    finally:
        if env is not setup.env.env:
            env.close()
    records = demo_buffer.demo_records(episodes, setup.wa_model, session.policy.features,
                                       seed_base)
    if records:
        session.replay.demos.extend(to_tensordict(records, demo=True))


def acting(session: Session) -> dict[str, Callable[..., Any]]:
    """Name -> act function of every policy the final evaluation reports: the algorithm's
    own (its id), then any variants it names (e.g. PLD's distilled policy)."""
    algo, name = session.algorithm, session.algorithm_id
    if hasattr(algo, "policy_state") and session.policy is not algo:
        # With train.select=best, the best evaluation's weights: the WA model's too when the
        # algorithm fine-tuned it (no checkpoint follows the final evaluation).
        load_selected(session.selected_policy_state(), session.policy, session.wa_model)
    acts = {name: session.policy.act}
    variants = getattr(algo, "variants", None)
    if variants is not None:
        acts.update({f"{name}-{suffix}": act for suffix, act in variants().items()})
    return acts


def final(session: Session) -> dict[str, EvalResult]:
    """The final evaluation on ``final_trials`` fixed seeds; ``final.json`` holds the
    algorithm's, ``final-<variant>.json`` each variant's."""
    results: dict[str, EvalResult] = {}
    main, c, counters = session.algorithm_id, session.config, session.counters
    for name, act in acting(session).items():
        path = session.run_dir / ("final.json" if name == main else f"final-{name}.json")
        if path.is_file():
            results[name] = load_eval(path)
            continue
        result = session.evaluate(act, c.final_trials, "final" if name == main else name,
                                  c.videos)
        if name == main:
            session.log_evaluation(result, counters.env_steps, counters.updates)
        write_json(path, {"algorithm": name, **result.to_dict()})
        results[name] = result
    return results


def load_eval(path: Path) -> EvalResult:
    return EvalResult.from_dict(json.loads(path.read_text()))


def torch_threads(config: TrainConfig) -> int:
    if config.torch_threads:
        return config.torch_threads
    cores = os.cpu_count() or 1
    return max(1, cores // 2) if config.asynchronous else cores


def train_algorithm(session: Session, kind: str | None = None) -> None:
    """``algorithm.train(session)``, or the 0.1 interface through its adapter; ``kind`` is
    the algorithm's `kind_of` when the caller has it."""
    kind = kind or kind_of(session.algorithm, session.algorithm_id)
    if kind == "trainable":
        session.algorithm.train(session)
    elif kind == "legacy":
        from warl.core.training.legacy import train_legacy

        train_legacy(session)


def train(setup: Assembly, config: TrainConfig, run_dir: Path, registry: Registry, *,
          resume: bool = False, show_progress: bool = True) -> TrainResult:
    """Run (or, with ``resume``, continue) the stages in ``run_dir``; see the module doc."""
    import torch

    torch.set_num_threads(torch_threads(config))
    # Refused before the session allocates its buffers in the run folder.
    kind = kind_of(setup.algorithm, setup.config["algorithm"])
    run_dir.mkdir(parents=True, exist_ok=True)
    session = Session(setup, config, run_dir, registry, show_progress)
    if resume and checkpoint_dir(run_dir) is not None:
        session.resume()
    session.log = RunLog(run_dir, session.counters if resume else None)
    counters = session.counters
    try:
        base = baseline(session)
        if kind == "evaluation-only":
            counters.stage = "final"
        if counters.stage == "baseline":
            if "demos" in frozenset(getattr(session.algorithm, "needs", ())):
                fill_demos(session)
            counters.stage = "train"
            session.checkpoint()
        if counters.stage == "train":
            train_algorithm(session, kind)
            session.finish_evaluation()
            counters.stage = "final"
            session.checkpoint()
        finals = final(session)
        counters.stage = "done"
        counters.wall_s = session.wall()
        write_json(run_dir / "state.json", counters.__dict__)
    finally:
        session.log.close()
    # The checkpoint holds the replay; the memory-mapped working copy would double the
    # finished run folder (the main job's: 272 MB on disk, 3.7 GB apparent).
    shutil.rmtree(run_dir / SCRATCH, ignore_errors=True)
    return TrainResult(run_dir, base, finals, counters)
