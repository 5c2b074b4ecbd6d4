"""Replay on TorchRL memmap storage: mixed sampling and a save/load round trip with the cursor."""

from __future__ import annotations

import pytest
import torch
from tensordict import TensorDict

from warl.core.errors import ConfigError
from warl.core.replay import MixedReplay, make_buffer


def transitions(n, source, start=0):
    return TensorDict(
        {
            "obs": {"state": torch.arange(start, start + n).float()[:, None].repeat(1, 3)},
            "action": torch.randn(n, 12, 4),
            "reward": torch.zeros(n),
            "source": torch.full((n,), source),
        },
        batch_size=[n],
    )


def test_mixed_sampling_keeps_the_ratio_and_falls_back(tmp_path):
    replay = MixedReplay(make_buffer(50, tmp_path / "a"), make_buffer(50, tmp_path / "b"), 0.5)
    with pytest.raises(ConfigError, match="empty"):
        replay.sample(4)
    replay.demos.extend(transitions(10, source=1))
    assert (replay.sample(8)["source"] == 1).all()  # no online data yet: all demos
    replay.online.extend(transitions(20, source=0))
    batch = replay.sample(64)
    assert batch.batch_size == torch.Size([64])
    assert int((batch["source"] == 1).sum()) == 32
    assert batch["action"].shape == (64, 12, 4)
    assert MixedReplay(replay.online, replay.demos, 0.25).split(64) == (16, 48)
    with pytest.raises(ConfigError, match="demo_fraction"):
        MixedReplay(replay.online, replay.demos, 1.5)


def test_storage_wraps_around_at_capacity(tmp_path):
    buffer = make_buffer(8, tmp_path / "s")
    buffer.extend(transitions(6, 0))
    buffer.extend(transitions(6, 0, start=100))
    assert len(buffer) == 8
    # Round-robin: the oldest four (0-3) were overwritten by 102-105.
    states = buffer[:8]["obs", "state"][:, 0].tolist()
    assert states == [102, 103, 104, 105, 4, 5, 100, 101]


def test_save_and_load_keep_contents_and_cursor(tmp_path):
    replay = MixedReplay(make_buffer(16, tmp_path / "a"), make_buffer(16, tmp_path / "b"))
    replay.online.extend(transitions(10, 0))
    replay.demos.extend(transitions(4, 1))
    replay.save(tmp_path / "ckpt")
    restored = MixedReplay(make_buffer(16, tmp_path / "c"), make_buffer(16, tmp_path / "d"))
    restored.load(tmp_path / "ckpt")
    assert len(restored.online) == 10 and len(restored.demos) == 4
    assert (restored.online[:10]["action"] == replay.online[:10]["action"]).all()
    # The next write lands where the saved cursor pointed, in both copies.
    replay.online.extend(transitions(8, 0, start=50))
    restored.online.extend(transitions(8, 0, start=50))
    assert (restored.online[:16]["obs", "state"] == replay.online[:16]["obs", "state"]).all()
    torch.manual_seed(0)
    expected = replay.sample(6)
    torch.manual_seed(0)
    assert (restored.sample(6)["obs", "state"] == expected["obs", "state"]).all()
    with pytest.raises(ConfigError, match="no saved"):
        restored.load(tmp_path / "nothing")
