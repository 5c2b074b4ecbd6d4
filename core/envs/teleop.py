"""Operator takeover from a keyboard, a gamepad or a SpaceMouse: an `InterventionSource`.

A device backend turns raw input into `TeleopEvent`s and feeds them to `TeleopSource` from
its own thread (or a test feeds them directly: the same interface, headless). The source keeps
the operator's current command (end-effector velocity on three axes and a gripper command)
and whether the operator has taken over: while engaged it returns the proposed action with the
operator's dimensions replaced, so an intervention always wins on what the operator controls;
otherwise None (the policy acts).

Bindings (x, y, z; gripper; take over):

- keyboard (`pynput`): a / d, s / w, f / r; g toggles closed; space toggles the takeover.
- gamepad (`pygame`): left stick x, left stick y (up +), right stick y (up +); the right
  trigger; button 0 held.
- SpaceMouse (`pyspacemouse`): its x, y, z; button 1 toggles closed; button 0 held.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from warl.core.errors import MissingExtraError

KEY_AXES = {"d": (0, 1.0), "a": (0, -1.0), "w": (1, 1.0), "s": (1, -1.0), "r": (2, 1.0),
            "f": (2, -1.0)}


@dataclass(frozen=True)
class TeleopEvent:
    """One input: ``axis`` (``name`` 0-2 for x, y, z or ``gripper``; ``value`` in [-1, 1]),
    ``engage`` (``value`` 1 engaged, 0 released; ``toggle`` flips) or ``gripper_toggle``."""

    kind: str
    name: str = ""
    value: float = 0.0


class TeleopSource:
    """The operator's command as an intervention source.

    Args:
        action_dim: the env's action size.
        position_dims: the action dimensions the three axes drive [0, 1, 2].
        gripper_dim: the action dimension of the gripper [3; None: no gripper].
        scale: action units per unit of input.
    """

    def __init__(self, action_dim: int, position_dims: Sequence[int] = (0, 1, 2),
                 gripper_dim: int | None = 3, scale: float = 1.0) -> None:
        if len(position_dims) != 3 or max(position_dims) >= action_dim or (
                gripper_dim is not None and gripper_dim >= action_dim):
            raise ValueError(f"teleop dimensions {list(position_dims)} / {gripper_dim} do not "
                             f"fit an action of size {action_dim}")
        self.action_dim, self.position_dims = action_dim, tuple(position_dims)
        self.gripper_dim, self.scale = gripper_dim, scale
        self._lock = threading.Lock()
        self.axes = np.zeros(3, np.float32)
        self.gripper = -1.0  # open
        self.engaged = False
        self.events = 0

    def feed(self, event: TeleopEvent) -> None:
        """Apply one event (thread-safe: device threads call this)."""
        with self._lock:
            self.events += 1
            if event.kind == "axis" and event.name == "gripper":
                self.gripper = float(np.clip(event.value, -1.0, 1.0))
            elif event.kind == "axis":
                self.axes[int(event.name)] = float(np.clip(event.value, -1.0, 1.0))
            elif event.kind == "engage":
                self.engaged = not self.engaged if event.name == "toggle" else event.value > 0
            elif event.kind == "gripper_toggle":
                self.gripper = -self.gripper
            else:
                raise ValueError(f"unknown teleop event {event}")

    def reset(self) -> None:
        """A new episode: the operator starts hands off."""
        with self._lock:
            self.axes[:] = 0.0
            self.engaged = False

    def __call__(self, observation: Any, proposed_action: np.ndarray) -> np.ndarray | None:
        with self._lock:
            if not self.engaged:
                return None
            action = np.array(proposed_action, dtype=np.float32, copy=True)
            action[list(self.position_dims)] = self.scale * self.axes
            if self.gripper_dim is not None:
                action[self.gripper_dim] = self.gripper
            return action


# --- translating each device's raw input -----------------------------------------------------
def key_events(key: str, pressed: bool) -> list[TeleopEvent]:
    """The events of one key press or release (a character, or ``space``)."""
    if key == "space":
        return [TeleopEvent("engage", "toggle")] if pressed else []
    if key == "g":
        return [TeleopEvent("gripper_toggle")] if pressed else []
    if key in KEY_AXES:
        axis, sign = KEY_AXES[key]
        return [TeleopEvent("axis", str(axis), sign if pressed else 0.0)]
    return []


def gamepad_events(axes: Sequence[float], buttons: Sequence[bool]) -> list[TeleopEvent]:
    """The events of one gamepad poll: axes in pygame's order (left x, left y, ..., right y at
    4, right trigger at 5; stick y is down-positive), buttons by index."""
    def axis(i: int) -> float:
        return float(axes[i]) if i < len(axes) else 0.0

    trigger = axis(5)
    return [TeleopEvent("axis", "0", axis(0)), TeleopEvent("axis", "1", -axis(1)),
            TeleopEvent("axis", "2", -axis(4)),
            TeleopEvent("axis", "gripper", trigger),
            TeleopEvent("engage", "", float(bool(buttons[0]) if buttons else 0.0))]


def spacemouse_events(x: float, y: float, z: float, buttons: Sequence[int],
                      previous: Sequence[int]) -> list[TeleopEvent]:
    """The events of one SpaceMouse reading (button 1 toggles the gripper on its press)."""
    events = [TeleopEvent("axis", "0", x), TeleopEvent("axis", "1", y),
              TeleopEvent("axis", "2", z),
              TeleopEvent("engage", "", float(bool(buttons[0]) if buttons else 0.0))]
    if len(buttons) > 1 and buttons[1] and not (len(previous) > 1 and previous[1]):
        events.append(TeleopEvent("gripper_toggle"))
    return events


# --- device backends ---------------------------------------------------------------------------
def start_device(device: str, source: TeleopSource, poll_hz: float = 100.0) -> Any:
    """Start feeding ``source`` from ``device`` (``keyboard``, ``gamepad`` or
    ``spacemouse``) in a background thread; returns an object with ``stop()``."""
    if device == "keyboard":
        return _keyboard(source)
    if device in ("gamepad", "spacemouse"):
        poll = _gamepad_poll() if device == "gamepad" else _spacemouse_poll()
        return _Poller(poll, source, poll_hz)
    raise ValueError(f"unknown teleop device {device!r}: keyboard, gamepad or spacemouse")


def _need(module: str, device: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtraError(f"teleop/{device}", module,
                                "pip install 'warl[teleop]'") from None


def _keyboard(source: TeleopSource) -> Any:
    keyboard = _need("pynput.keyboard", "keyboard")

    def name(key: Any) -> str:
        if key == keyboard.Key.space:
            return "space"
        return str(getattr(key, "char", "") or "").lower()

    def handler(pressed: bool) -> Any:
        def on_key(key: Any) -> None:
            for event in key_events(name(key), pressed):
                source.feed(event)
        return on_key

    listener = keyboard.Listener(on_press=handler(True), on_release=handler(False))
    listener.start()
    return listener


def _gamepad_poll() -> Any:
    pygame = _need("pygame", "gamepad")
    pygame.init()
    pygame.joystick.init()
    if pygame.joystick.get_count() == 0:
        raise RuntimeError("no gamepad found (pygame sees no joystick)")
    pad = pygame.joystick.Joystick(0)

    def poll() -> list[TeleopEvent]:
        pygame.event.pump()
        return gamepad_events([pad.get_axis(i) for i in range(pad.get_numaxes())],
                              [bool(pad.get_button(i)) for i in range(pad.get_numbuttons())])

    return poll


def _spacemouse_poll() -> Any:
    pyspacemouse = _need("pyspacemouse", "spacemouse")
    if not pyspacemouse.open():
        raise RuntimeError("no SpaceMouse found (pyspacemouse.open() failed)")
    previous: list[int] = []

    def poll() -> list[TeleopEvent]:
        state = pyspacemouse.read()
        buttons = list(state.buttons)
        events = spacemouse_events(state.x, state.y, state.z, buttons, previous)
        previous[:] = buttons
        return events

    return poll


class _Poller:
    """Polls a device at ``hz`` in a thread and feeds its events."""

    def __init__(self, poll: Any, source: TeleopSource, hz: float) -> None:
        self._stop = threading.Event()

        def run() -> None:
            while not self._stop.wait(1.0 / hz):
                for event in poll():
                    source.feed(event)

        self._thread = threading.Thread(target=run, daemon=True, name="teleop")
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=1.0)
