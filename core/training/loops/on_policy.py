"""`on_policy`: collect groups of episodes with the current policy, then one update on them.

A group is ``group_size`` episodes; with ``same_start`` (GRPO) all of a group's episodes reset
from one initial state (the seed of the group's first episode) and differ only through the
policy's sampling (each episode reseeds it with its own training seed), so their returns
compare like with like. ``groups_per_update`` groups make one batch for
``update_on_policy(batch)``. Each transition of the batch carries, beside the usual fields:

- ``group`` (int64): the group's index in the batch; ``trajectory`` (int64): the episode's;
- ``decision`` (int64): the chunk's index within its episode;
- ``episode_return`` (float32) and ``episode_success`` (bool) of its episode;
- ``valid`` (bool): False after the episode's first successful chunk (GRPO masks those).

A batch never straddles a checkpoint: a run killed mid-batch collects that batch again on
resume, from the same seeds, with the same weights.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from warl.core.rollout.engine import EpisodeRequest, Rollout
from warl.core.training.collector import Backend
from warl.core.training.contract import OnPolicy, require
from warl.core.training.loops.batches import open_backend, run_requests
from warl.core.training.transitions import to_tensordict


def group_batch(groups: list[list[Rollout]]) -> Any:
    """One TensorDict of every transition of ``groups`` with the fields listed above."""
    import torch

    records = [r.record for group in groups for r in group]
    data = to_tensordict(records)
    group_ids, trajectory_ids, decisions, returns, successes, valid = [], [], [], [], [], []
    trajectory = 0
    for g, group in enumerate(groups):
        for rollout in group:
            record = rollout.record
            reached = False
            for i, step in enumerate(record.steps):
                group_ids.append(g)
                trajectory_ids.append(trajectory)
                decisions.append(i)
                returns.append(record.episode_return)
                successes.append(record.success)
                valid.append(not reached)
                reached = reached or step.succeeded
            trajectory += 1
    data["group"] = torch.tensor(group_ids, dtype=torch.int64)
    data["trajectory"] = torch.tensor(trajectory_ids, dtype=torch.int64)
    data["decision"] = torch.tensor(decisions, dtype=torch.int64)
    data["episode_return"] = torch.tensor(returns, dtype=torch.float32)
    data["episode_success"] = torch.tensor(successes, dtype=torch.bool)
    data["valid"] = torch.tensor(valid, dtype=torch.bool)
    return data


def on_policy(session: Any, algorithm: Any, *, same_start: bool = True,
              backend: Backend | None = None, imagined: bool = False,
              budget_left: Callable[[], bool] | None = None) -> None:
    """Train ``algorithm`` (`OnPolicy`) batch by batch until the budget is spent: real env
    steps, or with ``imagined`` imagined steps of the episodes ``backend`` (a collector over
    a world-model env) runs; ``budget_left`` replaces the session's test (a stage of a
    run that stops before the whole budget)."""
    require(algorithm, OnPolicy, session.algorithm_id, "on-policy")
    if budget_left is None:
        budget_left = session.imagined_budget_left if imagined else session.budget_left
    if backend is None:
        with open_backend(session) as opened:
            _train(session, algorithm, same_start, opened, imagined, budget_left)
    else:
        _train(session, algorithm, same_start, backend, imagined, budget_left)


def _train(session: Any, algorithm: Any, same_start: bool, backend: Backend,
           imagined: bool, budget_left: Callable[[], bool]) -> None:
    counters = session.counters
    label = "imagination" if imagined else "train"
    session.start_online()
    if counters.env_steps == 0 and counters.imagined_steps == 0:
        session.tick()
    total = session.config.imagined_steps if imagined else session.config.env_steps
    done = counters.imagined_steps if imagined else counters.env_steps
    with session.progress(label, total, min(done, total)) as advance:
        while budget_left():
            # Counters move only once the batch is used: episode e of the batch has the seed
            # of training episode counters.episodes + e, and resets from its group's first.
            size, first = algorithm.group_size, counters.episodes
            requests = [
                EpisodeRequest(session.seed_of(first + (e - e % size if same_start else e)),
                               noise_seed=session.seed_of(first + e))
                for e in range(size * algorithm.groups_per_update)]
            rollouts = run_requests(session, backend, session.rollout_state(), requests)
            groups = [rollouts[g:g + size] for g in range(0, len(rollouts), size)]
            metrics = algorithm.update_on_policy(group_batch(groups))
            counters.updates += int(metrics.pop("updates", 1))
            counters.groups += len(groups)
            updates_per_s = session.updates_per_s()
            for group in groups:
                for rollout in group:
                    record = rollout.record
                    session.record_episode(
                        success=record.success, episode_return=record.episode_return,
                        length=record.length, intervention_steps=record.intervention_steps,
                        transitions=len(record.steps), updates_per_s=updates_per_s,
                        metrics=metrics, imagined=imagined)
                    advance(record.length, **session.status(updates_per_s))
            session.tick()
