"""`imagination`: on-policy training inside a world-model env (WoVR's setting).

The world-model env is an ordinary Gymnasium env built from the world model (and a reward
model) the algorithm declared; the session's rollout policy runs in it through its own
collector, and its steps count as ``imagined_steps`` against ``train.imagined_steps``, apart
from real env steps. Evaluations stay in the real deployment env.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from warl.core.envs.chunked import ChunkedEnv
from warl.core.training.collector import Collector, InlineBackend
from warl.core.training.loops.on_policy import on_policy


def imagination(session: Any, algorithm: Any, env: Any, *, same_start: bool = True,
                budget_left: Callable[[], bool] | None = None) -> None:
    """Train ``algorithm`` (`OnPolicy`) in ``env`` until ``train.imagined_steps`` are spent
    (or ``budget_left`` says stop): a single-step world-model env, chunked here with the
    deployment env's chunk, or a `ChunkVector` of imagined envs stepped as one batch."""
    envs = env if isinstance(env, ChunkedEnv) or hasattr(env, "step_at") else \
        ChunkedEnv(env, session.env.chunk)
    backend = InlineBackend(Collector(envs, session.wa_model, session.policy))
    on_policy(session, algorithm, same_start=same_start, backend=backend, imagined=True,
              budget_left=budget_left)
