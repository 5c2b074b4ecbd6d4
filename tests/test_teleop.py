"""Operator takeover sources, headless: injected events through the same interface a device
thread uses."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from warl.core.envs.teleop import (
    TeleopEvent,
    TeleopSource,
    gamepad_events,
    key_events,
    spacemouse_events,
)


def _feed(source, events):
    for event in events:
        source.feed(event)


def test_keyboard_takes_over_only_while_engaged():
    source = TeleopSource(action_dim=4)
    proposed = np.full(4, 0.3, np.float32)
    _feed(source, key_events("w", True))
    assert source(None, proposed) is None  # moving keys alone do not take over
    _feed(source, key_events("space", True) + key_events("space", False))
    _feed(source, key_events("d", True) + key_events("g", True))
    action = source(None, proposed)
    assert action is not None and action.tolist() == [1.0, 1.0, 0.0, 1.0]
    _feed(source, key_events("w", False))
    assert source(None, proposed)[1] == 0.0  # released: no motion on y
    _feed(source, key_events("space", True))
    assert source(None, proposed) is None  # handed back
    assert key_events("x", True) == []


def test_gamepad_clutch_and_sticks():
    source = TeleopSource(action_dim=14, position_dims=(7, 8, 9), gripper_dim=13, scale=0.5)
    proposed = np.zeros(14, np.float32)
    _feed(source, gamepad_events([0.2, -1.0, 0, 0, 0.4, 1.0], [False]))
    assert source(None, proposed) is None
    _feed(source, gamepad_events([0.2, -1.0, 0, 0, 0.4, 1.0], [True]))
    action = source(None, proposed)
    assert action[7:10] == pytest.approx([0.1, 0.5, -0.2]) and action[13] == 1.0
    assert np.all(action[:7] == 0)  # the rest is the policy's


def test_spacemouse_toggles_the_gripper_on_press_only():
    source = TeleopSource(action_dim=4)
    _feed(source, spacemouse_events(0.5, 0, 0, [1, 1], [0, 0]))
    _feed(source, spacemouse_events(0.5, 0, 0, [1, 1], [1, 1]))  # held: no second toggle
    assert source(None, np.zeros(4, np.float32)).tolist() == [0.5, 0.0, 0.0, 1.0]


def test_events_from_another_thread_and_reset():
    source = TeleopSource(action_dim=4)
    threads = [threading.Thread(target=lambda: [source.feed(TeleopEvent("axis", "0", 0.1))
                                                for _ in range(500)]) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert source.events == 2000
    source.feed(TeleopEvent("engage", "", 1.0))
    source.reset()
    assert source(None, np.zeros(4, np.float32)) is None
    with pytest.raises(ValueError, match="do not fit"):
        TeleopSource(action_dim=3)
