"""Nothing lost, nothing twice, with a remote env: what the session acknowledges and refills.

The serving side keeps every executed step in its outbox until acknowledged. The session
acknowledges a stream's steps only once they are durable here: in the replay and covered by
a checkpoint. `Counters.links` holds, per stream, the (epoch, seq) of the last step of the
last episode ingested; each checkpoint saves it, then acknowledges it through the server's
``control`` stream. After a crash, `refill` reads back every step after the checkpoint's
watermark, rebuilds the episodes (chunks of C steps from each reset; the RL state computed by
the policy from the observation at each chunk boundary, as the rollout engine does), stores
them and moves the watermark: the steps collected after the last checkpoint reach the replay
once, and those before it are not read again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from warl.core.training.transitions import EpisodeRecord, Step, to_tensordict

Features = Callable[[Mapping[str, Any], str], Mapping[str, np.ndarray]]


def remote(session: Any) -> bool:
    return "served_env" in session.setup.config


def note_link(links: dict[str, list[int]], link: Sequence[Any] | None) -> None:
    """Advance ``links`` to an ingested episode's (stream, epoch, seq)."""
    if link is None:
        return
    stream, epoch, seq = str(link[0]), int(link[1]), int(link[2])
    if tuple(links.get(stream, (0, -1))) < (epoch, seq):
        links[stream] = [epoch, seq]


def control_link(session: Any) -> Any:
    from warl.core.remote.auth import TOKEN_ENV, read_token
    from warl.core.remote.client import ControlLink

    kwargs = session.setup.config["env_kwargs"]
    token = read_token(kwargs.get("token_file"), kwargs.get("token_env", TOKEN_ENV))
    return ControlLink(str(kwargs["url"]), token, timeout=float(kwargs.get("timeout", 30.0)))


def acknowledge(session: Any) -> int:
    """After a checkpoint: let the serving side drop what the checkpoint holds. A serving side
    that is down is not an error: acknowledgements are cumulative, the next checkpoint's
    covers this one's."""
    from warl.core.remote.client import LinkDown, RemoteError

    if not remote(session) or not session.counters.links:
        return 0
    try:
        link = control_link(session)
    except LinkDown:
        return 0
    try:
        return sum(link.ack(stream, epoch, seq)
                   for stream, (epoch, seq) in session.counters.links.items())
    except (LinkDown, RemoteError):
        return 0
    finally:
        link.close()


def episodes_from_rows(rows: Sequence[Mapping[str, Any]], stream: str, chunk: int,
                       features: Features) -> list[EpisodeRecord]:
    """Episodes (chunk transitions) from outbox rows in order: a ``reset`` row starts one;
    rows before the first reset (an episode already acknowledged) are skipped."""
    episodes: list[EpisodeRecord] = []
    start: Mapping[str, Any] | None = None
    steps: list[Mapping[str, Any]] = []

    def close() -> None:
        if start is not None and steps:
            episodes.append(_episode(start, steps, stream, chunk, features))

    for row in rows:
        if row["type"] == "reset":
            close()
            start, steps = row, []
        elif start is not None:
            steps.append(row)
    close()
    return episodes


def _episode(start: Mapping[str, Any], rows: Sequence[Mapping[str, Any]], stream: str,
             chunk: int, features: Features) -> EpisodeRecord:
    instruction = str(start.get("instruction", ""))
    record = EpisodeRecord()
    obs = start["obs"]
    for i in range(0, len(rows), chunk):
        part = rows[i:i + chunk]
        action = np.zeros((chunk, len(part[0]["action"])), np.float32)
        action[:len(part)] = np.stack([r["action"] for r in part])
        intervened = np.zeros(chunk, bool)
        intervened[:len(part)] = [bool(r["intervened"]) for r in part]
        record.steps.append(Step(
            features=features(obs, instruction), action=action,
            reward=float(sum(r["reward"] for r in part)),
            terminated=bool(part[-1]["terminated"]), steps=len(part), intervened=intervened,
            succeeded=bool(part[-1]["success"])))
        obs = part[-1]["obs"]
    record.final_features = features(obs, instruction)
    record.success = any(bool(r["success"]) for r in rows)
    record.link = (stream, int(rows[-1]["epoch"]), int(rows[-1]["seq"]))
    return record


def _pending(session: Any, stream: str, after: tuple[int, int],
             attempts: int = 30) -> list[dict[str, Any]]:
    """The rows after ``after``, waiting for a serving side that is restarting."""
    import time

    from warl.core.remote.client import LinkDown

    for attempt in range(attempts):
        try:
            link = control_link(session)
            try:
                return link.pending(stream, after)
            finally:
                link.close()
        except LinkDown:
            if attempt + 1 == attempts:
                raise
            time.sleep(min(0.1 * 2 ** attempt, 2.0))
    return []


def refill(session: Any) -> int:
    """On resume: store what the serving side executed after the checkpoint's watermark;
    returns the env steps stored."""
    if not remote(session):
        return 0
    from warl.core.world_model import batch_of

    def features(obs: Mapping[str, Any], instruction: str) -> Mapping[str, np.ndarray]:
        wa = None
        if session.wa_model is not None:
            wa = session.wa_model.infer(batch_of(dict(obs)), instruction).index(0)
        return session.policy.features(obs, wa)

    stream = str(session.setup.config["env_kwargs"].get("stream", "train"))
    after = tuple(session.counters.links.get(stream, (0, -1)))
    rows = _pending(session, stream, (int(after[0]), int(after[1])))
    episodes = episodes_from_rows(rows, stream, session.env.chunk, features)
    steps = 0
    for record in episodes:
        session.replay.online.extend(to_tensordict([record]))
        note_link(session.counters.links, record.link)
        session.counters.env_steps += record.length
        session.counters.episodes += 1
        session.counters.transitions += len(record.steps)
        session.counters.refilled_steps += record.length
        steps += record.length
    return steps
