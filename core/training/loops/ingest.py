"""Storing a collected episode and counting it: what every loop does with a rollout."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from warl.core.training.collector import Rollout
from warl.core.training.durable import note_link
from warl.core.training.transitions import to_tensordict

# Selects the transitions of an episode to store (HG-DAgger keeps the expert's segments).
Keep = Callable[[Any], Any]


def intervened_chunks(data: Any) -> Any:
    """A `Keep` rule: the chunks of an episode in which the expert took over at least once
    (HG-DAgger's aggregate; warl 0.1's ``aggregate = "interventions"``)."""
    return data[data["intervened"].any(-1)]


def ingest(session: Any, rollout: Rollout, metrics: Mapping[str, Any],
           updates_per_s: float, keep: Keep | None = None) -> int:
    """Store ``rollout``'s transitions in the online buffer (those ``keep`` selects), log its
    ``train.csv`` row with the latest ``metrics``; returns its env steps."""
    record = rollout.record
    note_link(session.counters.links, record.link)
    if not record.steps:  # the link dropped before the episode's first step: nothing ran
        return 0
    data = to_tensordict([record])
    if keep is not None:
        data = keep(data)
    if len(data):
        session.replay.online.extend(data)
    session.record_episode(
        success=record.success, episode_return=record.episode_return, length=record.length,
        intervention_steps=record.intervention_steps, transitions=len(record.steps),
        updates_per_s=updates_per_s, metrics=metrics)
    return record.length
