"""Checkpoint selection (``train.select=best``): the weights of the best evaluation during
training, kept in the run folder, so that the final evaluation (and `warl eval --run`) runs
them instead of the last ones. An algorithm that fine-tunes its WA model keeps the model's
weights with its policy's, in one file: the pair an evaluation ran is never split."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from warl.core.checkpoints import save_checkpoint
from warl.core.training.collector import RolloutState
from warl.core.training.counters import Counters

BEST_POLICY = "best_policy.pt"
BEST_ROLLOUT = "best_rollout.pt"  # {"policy": ..., "wa_model": ...}


def keep_if_best(run_dir: Path, counters: Counters, success_rate: float, env_steps: int,
                 state: Any) -> None:
    """Keep ``state`` (the weights an evaluation ran: a policy state or a `RolloutState`;
    None: nothing to keep) if its success rate is the best so far, the last of equal ones."""
    if state is None or (counters.best_eval_sr is not None
                         and success_rate < counters.best_eval_sr):
        return
    # Written (atomically: a killed run keeps the previous best whole) before the counters
    # say so, so that a checkpoint never names a missing file.
    if isinstance(state, RolloutState):
        save_checkpoint(run_dir / BEST_ROLLOUT,
                        {"policy": state.policy, "wa_model": state.wa_model})
    else:
        save_checkpoint(run_dir / BEST_POLICY, state)
    counters.best_eval_sr, counters.best_eval_steps = success_rate, env_steps


def best_state(run_dir: Path, select: str) -> Mapping[str, Any] | RolloutState | None:
    """The kept weights when ``select`` is ``best`` and an evaluation kept some, else None:
    a `RolloutState` for an algorithm that fine-tunes its WA model, else a policy state."""
    if select != "best":
        return None
    import torch

    if (run_dir / BEST_ROLLOUT).is_file():
        pair = torch.load(run_dir / BEST_ROLLOUT, weights_only=True)
        return RolloutState(pair["policy"], pair["wa_model"])
    if (run_dir / BEST_POLICY).is_file():
        state: Mapping[str, Any] = torch.load(run_dir / BEST_POLICY, weights_only=True)
        return state
    return None


def load_selected(state: Mapping[str, Any] | RolloutState, policy: Any,
                  wa_model: Any = None) -> None:
    """Load selected weights into ``policy`` (and ``wa_model`` when they hold its own)."""
    if isinstance(state, RolloutState):
        assert wa_model is not None, "a RolloutState needs the WA model it was trained with"
        wa_model.load_state_dict(state.wa_model)
        state = state.policy  # type: ignore[assignment]
    if state is not None:
        policy.load_policy_state(state)
