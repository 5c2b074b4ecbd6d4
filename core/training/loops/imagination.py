"""`imagination`: on-policy training inside a world-model env (WoVR's setting).

The world-model env is an ordinary Gymnasium env built from the world model (and a reward
model) the algorithm declared; the session's rollout policy runs in it through its own
collector, and its steps count as ``imagined_steps`` against ``train.imagined_steps``, apart
from real env steps. Evaluations stay in the real deployment env.
"""

from __future__ import annotations

from typing import Any

from warl.core.envs.chunked import ChunkedEnv
from warl.core.training.collector import Collector, InlineBackend
from warl.core.training.loops.on_policy import on_policy


def imagination(session: Any, algorithm: Any, env: Any, *, same_start: bool = True) -> None:
    """Train ``algorithm`` (`OnPolicy`) in ``env`` (a single-step world-model env, chunked
    here with the deployment env's chunk) until ``train.imagined_steps`` are spent."""
    chunked = env if isinstance(env, ChunkedEnv) else ChunkedEnv(env, session.env.chunk)
    backend = InlineBackend(Collector(chunked, session.wa_model, session.policy))
    on_policy(session, algorithm, same_start=same_start, backend=backend, imagined=True)
