"""Plugins written for warl 0.1 keep training: their ``cadence`` picks the stock loop.

0.1 had no ``train(session)``; the loop read ``cadence`` (``utd``, the default when the
algorithm had ``make_policy``; ``rounds``; ``external`` with ``learn(LearnSession)``;
``evaluation``), ran a BC warm-up when the algorithm had ``warmup_step``, and filtered the
aggregate with ``aggregate = "interventions"``. This module does the same through the stock
loops and says once, on stderr, how to port (`warl check ALGO` says it too). Distillation
stages (0.1's ``distill_episodes`` / ``distill_step``) are not replayed: port those plugins.
"""

from __future__ import annotations

import sys
from typing import Any

from warl.core.errors import ConfigError
from warl.core.training.contract import PORTING
from warl.core.training.loops import bc_warmup, external, off_policy, rounds
from warl.core.training.loops.ingest import intervened_chunks

CADENCES = ("utd", "rounds", "external", "evaluation")


def cadence_of(algorithm: Any) -> str:
    return str(getattr(algorithm, "cadence", "utd" if hasattr(algorithm, "make_policy")
                       else "evaluation"))


def porting_note(algorithm: Any, who: str) -> str:
    """What changed for a 0.1 plugin and how to port it."""
    cadence = cadence_of(algorithm)
    body = {"utd": "off_policy(session, self)", "rounds": "rounds(session, self)",
            "external": "external(session, self.learn)",
            "evaluation": "(nothing: set evaluation_only = True instead)"}.get(cadence, "...")
    return (f"{who!r} uses the warl 0.1 interface (cadence={cadence!r}, no train(session)); "
            f"it still trains through the compatibility adapter. Port it: def train(self, "
            f"session): {body}, with the loops from warl.core.training.loops ({PORTING})")


def train_legacy(session: Any) -> None:
    algorithm, who = session.algorithm, session.algorithm_id
    cadence = cadence_of(algorithm)
    if cadence not in CADENCES:
        raise ConfigError(f"{who!r} declares cadence {cadence!r}; warl 0.1 knew "
                          f"{list(CADENCES)}; port it ({PORTING})")
    print(f"warl: note: {porting_note(algorithm, who)}", file=sys.stderr)
    keep = intervened_chunks if getattr(algorithm, "aggregate", "all") == "interventions" \
        else None
    if cadence in ("utd", "rounds") and hasattr(algorithm, "warmup_step"):
        steps = int(getattr(algorithm, "warmup_steps", getattr(
            getattr(algorithm, "config", None), "bc_warmup_steps", 0)))
        bc_warmup(session, algorithm.warmup_step, steps, int(algorithm.batch_size))
    if cadence == "utd":
        off_policy(session, algorithm, keep)
    elif cadence == "rounds":
        rounds(session, algorithm, keep)
    elif cadence == "external":
        external(session, algorithm.learn)
