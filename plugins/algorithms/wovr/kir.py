"""Keyframe-Initialized Rollouts (WoVR section 4.2): where imagined rollouts start.

WoVR starts a share of its imagined rollouts "from keyframes o_k that lie near task-critical
intermediate states, especially failure states encountered by the current policy", and
leaves the selection open. Here it is a rule on real trajectories that a test can check,
with ``window`` W chunks of C steps:

- a **successful** trajectory whose first success is at step s (the observation after s
  actions) gives the steps s - W C .. s - 1: the last W chunks before the task resolved,
  where the decisive contact happens;
- a **failed** trajectory gives its *near miss* m and the W chunks before it: m is the step
  where the trajectory came closest to any successful trajectory's success state (each state
  dimension divided by its spread over all trajectories), i.e. where its distance to success
  stops shrinking and starts to grow; the steps m - W C .. m.

With no successful trajectory there is no success state to measure against, and failures
give no keyframes either: every rollout then starts from a real initial frame.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def first_success(step_success: np.ndarray) -> int | None:
    """The step s (1-based: the observation after s actions) of the first success, or None."""
    hits = np.flatnonzero(np.asarray(step_success, bool))
    return int(hits[0]) + 1 if len(hits) else None


def near_miss(states: np.ndarray, goals: np.ndarray, scale: np.ndarray) -> int:
    """The step whose state is closest to any of the success states ``goals`` (K, S)."""
    diff = (states[:, None, :] - goals[None, :, :]) / scale
    return int(np.argmin(np.sqrt((diff ** 2).sum(-1)).min(1)))


def keyframes(states: Sequence[np.ndarray], step_success: Sequence[np.ndarray], chunk: int,
              window: int) -> list[tuple[int, int]]:
    """Every (trajectory, step) keyframe of the rule above, in trajectory order.

    Args:
        states: per trajectory, its (T + 1, S) states (the one after the last action too).
        step_success: per trajectory, (T,) success after each action.
        chunk: C, actions per decision; window: W, chunks before the critical step.
    """
    span = chunk * window
    successes = [first_success(s) for s in step_success]
    goals = [states[i][s] for i, s in enumerate(successes) if s is not None]
    if not goals:
        return []
    everything = np.concatenate([np.asarray(s, np.float64) for s in states])
    scale = everything.std(0)
    scale[scale < 1e-6] = 1.0  # a constant dimension says nothing about closeness
    goal_states = np.stack(goals).astype(np.float64)
    out: list[tuple[int, int]] = []
    for i, s in enumerate(successes):
        if s is not None:
            out += [(i, t) for t in range(max(0, s - span), s)]
        else:
            m = near_miss(np.asarray(states[i], np.float64), goal_states, scale)
            out += [(i, t) for t in range(max(0, m - span), m + 1)]
    return out
