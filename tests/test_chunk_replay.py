"""`ChunkReplay`: every RL state stored once, next states read from the following row."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from warl.core.chunk_replay import ChunkReplay
from warl.core.errors import ConfigError
from warl.core.replay import make_buffer, save_buffer
from warl.core.training.transitions import EpisodeRecord, Step, to_tensordict


def episode(start: float, decisions: int, rng: np.random.Generator) -> EpisodeRecord:
    def state(t: int) -> dict[str, np.ndarray]:
        return {"state": np.full(3, start + t, np.float32),
                "memory": rng.normal(size=(4, 8)).astype(np.float32)}

    states = [state(t) for t in range(decisions + 1)]
    record = EpisodeRecord(final_features=states[-1], success=bool(start % 2))
    for t in range(decisions):
        record.steps.append(Step(
            features=states[t], action=rng.normal(size=(5, 2)).astype(np.float32),
            reward=float(t), terminated=t == decisions - 1, steps=5,
            intervened=np.array([t % 2 == 0] * 5)))
    return record


def same(a, b) -> bool:
    return all(torch.equal(a[k], b[k]) for k in a.keys(True, True))


def test_transitions_come_back_exactly_with_one_row_per_state(tmp_path):
    rng = np.random.default_rng(0)
    episodes = [episode(100.0 * i, 6 + i, rng) for i in range(3)]
    replay = ChunkReplay(1000, tmp_path)
    for e in episodes:
        replay.extend(to_tensordict([e]))
    expected = to_tensordict(episodes)
    assert len(replay) == len(expected) == 6 + 7 + 8
    assert replay.rows == len(expected) + len(episodes)  # T + 1 states per episode, not 2T
    assert same(replay[:len(replay)], expected)
    torch.manual_seed(3)
    batch = replay.sample(64)
    picks = batch["obs", "state"][:, 0]
    for i, value in enumerate(picks.tolist()):
        row = int((expected["obs", "state"][:, 0] == value).nonzero()[0])
        assert torch.equal(batch["next", "memory"][i], expected["next", "memory"][row])


def test_kept_subsets_get_holder_rows_for_their_next_states(tmp_path):
    rng = np.random.default_rng(1)
    data = to_tensordict([episode(0.0, 9, rng)])
    kept = data[data["intervened"].any(-1)]  # decisions 0, 2, 4, 6, 8: none adjacent
    replay = ChunkReplay(100, tmp_path)
    replay.extend(kept)
    assert len(replay) == 5 and replay.rows == 10
    assert same(replay[:5], kept)


def test_an_overwritten_successor_retires_its_transition(tmp_path):
    rng = np.random.default_rng(2)
    replay = ChunkReplay(10, tmp_path)
    first, second = episode(0.0, 6, rng), episode(50.0, 4, rng)
    replay.extend(to_tensordict([first]))  # rows 0-6
    replay.extend(to_tensordict([second]))  # rows 7-9, then 0-1: first's rows 0-1 are gone
    assert len(replay) == 4 + 4  # first keeps decisions 2-5; second all 4
    states = replay[:len(replay)]["obs", "state"][:, 0].tolist()
    assert sorted(states) == [2.0, 3.0, 4.0, 5.0, 50.0, 51.0, 52.0, 53.0]
    torch.manual_seed(0)
    batch = replay.sample(200)
    assert torch.equal(batch["next", "state"], batch["obs", "state"] + 1)


def test_float16_storage_halves_the_states_within_its_rounding(tmp_path):
    rng = np.random.default_rng(4)
    data = to_tensordict([episode(0.0, 20, rng)])
    full, half = ChunkReplay(100, tmp_path / "a"), ChunkReplay(100, tmp_path / "b", "float16")
    full.extend(data)
    half.extend(data)
    assert half.buffer[:1]["obs", "memory"].dtype == torch.float16
    got = half[:len(half)]
    assert got["obs", "memory"].dtype == torch.float32  # read back as float32
    error = (got["obs", "memory"] - data["obs", "memory"]).abs()
    assert float((error / data["obs", "memory"].abs().clamp_min(1e-3)).max()) <= 2 ** -11
    assert torch.equal(got["action"], data["action"])  # only states are rounded
    with pytest.raises(ConfigError, match="precision"):
        ChunkReplay(10, tmp_path / "c", "float8")


def test_save_and_load_keep_rows_chains_and_cursor(tmp_path):
    rng = np.random.default_rng(5)
    replay = ChunkReplay(30, tmp_path / "a")
    for i in range(3):
        replay.extend(to_tensordict([episode(10.0 * i, 5, rng)]))
    replay.save(tmp_path / "saved")
    restored = ChunkReplay(30, tmp_path / "b")
    restored.load(tmp_path / "saved")
    assert len(restored) == len(replay) and same(restored[:len(replay)], replay[:len(replay)])
    more = to_tensordict([episode(70.0, 8, rng)])
    replay.extend(more)
    restored.extend(more)
    assert same(restored[:len(replay)], replay[:len(replay)])
    old = make_buffer(30, tmp_path / "old")
    old.extend(more)
    save_buffer(old, tmp_path / "old_saved")
    with pytest.raises(ConfigError, match=r"warl 0\.2"):
        ChunkReplay(30, tmp_path / "c").load(tmp_path / "old_saved")


def test_an_episode_with_no_steps_adds_no_transitions():
    # A remote link that drops right after a reset ends an episode before its first chunk ran.
    rng = np.random.default_rng(0)
    empty = EpisodeRecord(final_features={"state": np.zeros(3, np.float32)})
    assert len(to_tensordict([empty, episode(0.0, 4, rng)])) == 4
    with pytest.raises(ValueError, match="no transitions"):
        to_tensordict([empty])
