"""Where a run stands (`Counters`, saved in every checkpoint) and its training seeds."""

from __future__ import annotations

from dataclasses import dataclass, field

# Training episode seeds: far from the demo (10_000+, 20_000+) and evaluation (1_000_000+) ones.
TRAIN_SEED_BASE = 5_000_000


def train_seed(seed: int, episode: int) -> int:
    return TRAIN_SEED_BASE + 100_000 * seed + episode


@dataclass
class Counters:
    """Where the run stands; saved in every checkpoint. ``stages_done`` lists the stages of
    the algorithm's ``train`` that finished (`Session.stage`); ``best_eval_*`` is the best
    evaluation during training (``train.select=best``)."""

    stage: str = "baseline"
    env_steps: int = 0
    imagined_steps: int = 0
    episodes: int = 0
    transitions: int = 0
    updates: int = 0
    warmup_updates: int = 0
    wall_s: float = 0.0
    online_s: float = 0.0
    next_eval: int = 0
    next_checkpoint: int = 0
    rounds: int = 0
    groups: int = 0
    last_eval_sr: float | None = None
    best_eval_sr: float | None = None
    best_eval_steps: int = 0
    recent_successes: list[int] = field(default_factory=list)
    stages_done: list[str] = field(default_factory=list)
    # A remote env's streams: the (epoch, seq) of the last step ingested (`durable`), and
    # the env steps read back from the serving side's outbox on resume.
    links: dict[str, list[int]] = field(default_factory=dict)
    refilled_steps: int = 0
