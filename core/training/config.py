"""The training loop's own settings (the algorithm's are the algorithm plugin's)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from warl.core.errors import check_at_least
from warl.core.settings import check_choice, check_range, parse_settings

BACKENDS = ("auto", "process", "thread", "inline", "ray")
VECTORS = ("serial", "async")
PRECISIONS = ("float32", "float16", "bfloat16")
DEMO_SOURCES = ("lab", "deployment", "none")
INTERVENTIONS = ("auto", "none", "expert")
SELECTIONS = ("last", "best")


@dataclass(frozen=True)
class TrainConfig:
    """Attributes:

    env_steps: online env-step budget (executed actions, not chunks).
    episodes: real training-episode budget (0: none).
    imagined_steps: budget of steps in a world-model env (imagination; 0: none).
    updates: learner-update budget (0: none).
    minutes: wall-clock budget of the online stage in minutes (0: none); training stops at
        whichever budget is reached first.
    asynchronous: collect in a worker while the learner updates (HALO-WA 7.9); off runs
        collect-then-update in turn.
    backend: where the rollout workers run: ``auto`` (default: ``process`` when
        asynchronous, ``inline`` otherwise), ``process`` (their own processes with one torch
        thread each, so the learner keeps its core; built from the session's
        `CollectorRecipe`), ``thread`` (a thread of the learner's process), ``inline``, or
        ``ray`` (``workers`` Ray actors: a local cluster, or the one ``RAY_ADDRESS`` names).
    workers: rollout workers of the ``process`` and ``ray`` backends.
    envs_per_worker: envs each rollout worker steps as one batch (its WA inference batched
        across them); each training batch of episodes is that many per worker.
    vector: how a worker holds its envs: ``serial`` (in its own process, stepped in turn) or
        ``async`` (Gymnasium's `AsyncVectorEnv`, a process per env; no expert in the loop).
    torch_threads: intra-op threads of the learner; 0 = half the cores when asynchronous (the
        other half drives the env), all of them otherwise.
    demos: demonstration-buffer episodes of the env's scripted expert (only the successful
        ones are kept) [HALO-WA: 100].
    demo_source: ``deployment`` records them in the deployment env, gap included (seeds
        20_000 + i): the paper's real-world recipe, where the demonstrations are teleoperated
        on the deployment robot. WA-base never saw these, and with the BC term (and warm-up)
        they carry most of the correction. ``lab`` records them without the gap on the seeds
        the built-in WA model was trained on (10_000 + i): the paper's simulation recipe, the
        demonstrations that trained WA-base, so every gain must come from online interaction.
        ``none``: no demonstration buffer.
    intervention: ``auto`` (default: ``expert`` for an algorithm that learns from
        interventions, such as hg-dagger, else ``none``), ``none``, or ``expert``: the env's
        scripted expert takes over while training whenever the policy's action deviates from
        its own by more than ``intervention_threshold`` (L2; `DeviationGate`), standing in
        for the operator of the real-world setting. Interventions are stored as executed
        actions, and after one the WA model re-infers to finish the chunk. Evaluations are
        always autonomous.
    intervention_threshold: the gate's takeover threshold.
    baseline: evaluate ``wa-base`` (the frozen WA model) before training, for the table.
    eval_every: env steps between evaluations during training.
    eval_trials: trials of each evaluation during training (the first seeds of the list).
    final_trials: trials of the final evaluation (HALO-WA sim: 100).
    eval_seed: the seed list of the evaluations during training (see
        `warl.core.evaluate.eval_seeds`); a validation list when ``final_seed`` differs.
    final_seed: the seed list of the baseline and final evaluations: -1 (default) is
        ``eval_seed``; another list holds those seeds out of every choice made during
        training (``select``), so the final numbers are unbiased.
    select: which weights the final evaluation runs: ``last`` (where training stopped) or
        ``best`` (those of the best evaluation during training, on ``eval_seed``; the last
        of equal ones).
    videos: evaluation videos saved for the baseline and the final evaluation.
    checkpoint_every: env steps between checkpoints (one is always written at the end).
    replay_capacity: online buffer size in chunk transitions.
    replay_precision: the dtype the RL states are stored in (``float32``, ``float16``,
        ``bfloat16``; read back as float32); see `warl.core.chunk_replay`.
    seed: training episode seeds, RNG state.
    """

    env_steps: int = 200_000
    episodes: int = 0
    imagined_steps: int = 0
    updates: int = 0
    minutes: float = 10.0
    asynchronous: bool = True
    backend: str = "auto"
    workers: int = 1
    envs_per_worker: int = 1
    vector: str = "serial"
    torch_threads: int = 0
    demos: int = 100
    demo_source: str = "deployment"
    intervention: str = "auto"
    intervention_threshold: float = 0.5
    baseline: bool = True
    eval_every: int = 10_000
    eval_trials: int = 20
    final_trials: int = 100
    eval_seed: int = 0
    final_seed: int = -1
    select: str = "last"
    videos: int = 3
    checkpoint_every: int = 10_000
    replay_capacity: int = 100_000
    replay_precision: str = "float16"
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def final_list(self) -> int:
        """The seed list of the baseline and final evaluations."""
        return self.eval_seed if self.final_seed < 0 else self.final_seed


def make_train_config(settings: Mapping[str, Any]) -> TrainConfig:
    """The loop settings from ``settings`` (``train.KEY`` values), checked: known keys (with
    "did you mean"), types, choices and ranges; each failure is one `ConfigError`."""
    config = parse_settings(TrainConfig, settings, "train.")
    check_choice(config, "backend", BACKENDS, "train.")
    check_choice(config, "vector", VECTORS, "train.")
    check_choice(config, "replay_precision", PRECISIONS, "train.")
    check_choice(config, "intervention", INTERVENTIONS, "train.")
    check_choice(config, "demo_source", DEMO_SOURCES, "train.")
    check_choice(config, "select", SELECTIONS, "train.")
    check_at_least(config, ("eval_seed",), 0, "train.")
    check_at_least(config, ("final_seed",), -1, "train.")
    check_at_least(config, ("env_steps", "eval_every", "checkpoint_every", "final_trials",
                            "replay_capacity", "workers", "envs_per_worker"), 1, "train.")
    check_at_least(config, ("demos", "eval_trials", "videos", "torch_threads", "minutes",
                            "episodes", "imagined_steps", "updates"), 0, "train.")
    check_range(config, "intervention_threshold", 0.0, None, "train.")
    return config
