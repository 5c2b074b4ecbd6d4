"""Checkpoint selection (``train.select=best``): the policy weights of the best evaluation
during training, kept in the run folder, so that the final evaluation (and `warl eval
--run`) runs them instead of the last ones."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from warl.core.training.counters import Counters

BEST_POLICY = "best_policy.pt"


def keep_if_best(run_dir: Path, counters: Counters, success_rate: float, env_steps: int,
                 state: Any) -> None:
    """Keep ``state`` (the weights an evaluation ran; None: nothing to keep) if its success
    rate is the best so far, the last of equal ones."""
    if state is None or (counters.best_eval_sr is not None
                         and success_rate < counters.best_eval_sr):
        return
    import torch

    # A `RolloutState`'s policy part; written before the counters say so, so that a
    # checkpoint never names a missing file.
    torch.save(getattr(state, "policy", state), run_dir / BEST_POLICY)
    counters.best_eval_sr, counters.best_eval_steps = success_rate, env_steps


def best_policy(run_dir: Path, select: str) -> Mapping[str, Any] | None:
    """The kept weights when ``select`` is ``best`` and an evaluation kept some, else None."""
    path = run_dir / BEST_POLICY
    if select != "best" or not path.is_file():
        return None
    import torch

    state: Mapping[str, Any] = torch.load(path, weights_only=True)
    return state
