"""PLD's third stage, distill: episodes of the trained residual policy (no exploration, no
base prefix), the successful ones kept, then ``distill_steps`` BC updates of a copy of the WA
action head on them. ``distill.csv`` holds the mean BC loss of each window of updates; the
stage reruns whole on resume (it is short and its data is not checkpointed)."""

from __future__ import annotations

from typing import Any

from warl.core.replay import make_buffer
from warl.core.training.transitions import to_tensordict

# Distillation rollouts: their own seed range, apart from training (5_000_000+), demos
# (10_000+, 20_000+) and evaluation (1_000_000+).
DISTILL_SEED_BASE = 7_000_000


def distill(session: Any, algorithm: Any) -> None:
    episodes, steps = algorithm.config.distill_episodes, algorithm.config.distill_steps
    if not episodes or not steps:
        return
    kept = []
    state = algorithm.policy_state()  # the trained policy, loaded into the worker once
    with session.progress("distill: collect", episodes) as advance:
        for i in range(episodes):
            seed = DISTILL_SEED_BASE + 100_000 * session.config.seed + i
            rollout = session.collect(None if i else state, seed=seed, explore=False)
            if rollout.record.success:
                kept.append(rollout.record)
            advance(1, kept=str(len(kept)))
    if not kept:
        session.log_table("distill", {"step": 0, "kept_episodes": 0, "transitions": 0,
                                      "bc": None}, step_key="step", restart=True)
        return
    data = make_buffer(session.config.replay_capacity, session.scratch_dir("distill"))
    data.extend(to_tensordict(kept))
    every = max(1, steps // 50)  # rows of distill.csv: the mean BC loss of each window
    window: list[float] = []
    first = True
    with session.progress("distill: BC", steps) as advance:
        for step in range(1, steps + 1):
            window.append(algorithm.distill_step(data.sample(algorithm.batch_size))["bc"])
            advance(1, bc=f"{window[-1]:.4f}")
            if step % every == 0 or step == steps:
                session.log_table("distill", {"step": step, "kept_episodes": len(kept),
                                              "transitions": len(data),
                                              "bc": sum(window) / len(window)},
                                  step_key="step", restart=first)
                first, window = False, []
