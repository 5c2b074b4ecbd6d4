"""The remote-env wire format: round trips, limits, and random or malformed frames."""

from __future__ import annotations

import contextlib

import msgpack
import numpy as np
import pytest
from gymnasium import spaces

from warl.core.errors import ConfigError
from warl.core.remote.auth import authorized, bearer, read_token, write_new_token
from warl.core.remote.safety import SafetyLimits
from warl.core.remote.spaces import describe, rebuild
from warl.core.remote.wire import ProtocolError, decode, encode


def test_arrays_round_trip_as_raw_bytes():
    message = {"type": "step", "id": 3, "obs": {"state": np.arange(5, dtype=np.float32),
                                                "rgb_a": np.zeros((4, 4, 3), np.uint8)},
               "flags": np.array([True, False]), "nested": [{"x": np.int64(7)}]}
    back = decode(encode(message))
    assert back["obs"]["state"].dtype == np.float32
    assert np.array_equal(back["obs"]["state"], message["obs"]["state"])
    assert back["flags"].tolist() == [True, False] and back["nested"] == [{"x": 7}]


@pytest.mark.parametrize("fmt", ["png", "jpeg"])
def test_images_compress(fmt):
    ramp = np.linspace(0, 255, 64)
    image = np.stack(np.broadcast_arrays(ramp[:, None], ramp[None, :], 128.0), -1).astype(
        np.uint8)  # a smooth scene, as cameras see
    frame = encode({"type": "x", "rgb": image}, compress=fmt)
    back = decode(frame)["rgb"]
    assert back.shape == image.shape and back.dtype == np.uint8
    assert np.abs(back.astype(int) - image).mean() < (0.01 if fmt == "png" else 8)


def test_size_limits_both_ways():
    big = {"type": "x", "a": np.zeros(1000, np.float64)}
    with pytest.raises(ProtocolError, match="exceeds the 100-byte limit"):
        encode(big, max_size=100)
    with pytest.raises(ProtocolError, match="exceeds"):
        decode(encode(big), max_size=100)


@pytest.mark.parametrize("frame, words", [
    (b"\xc1\xc1\xc1", "not a msgpack"),
    (msgpack.packb([1, 2, 3]), "map with a string 'type'"),
    (msgpack.packb({"type": 5}), "map with a string 'type'"),
    (msgpack.packb({"type": "x", "a": {"__nd__": ["object", [1]], "data": b"x"}}),
     "not allowed"),
    (msgpack.packb({"type": "x", "a": {"__nd__": ["float32", [4]], "data": b"abc"}}),
     "needs 16 bytes"),
    (msgpack.packb({"type": "x", "a": {"__nd__": ["float32", [-1]], "data": b""}}),
     "bad array shape"),
    (msgpack.packb({"type": "x", "a": {"__img__": "png", "data": b"notapng"}}),
     "undecodable"),
    (msgpack.packb({"type": "x", "a": {"__img__": "gif", "data": b""}}), "bad image"),
    (msgpack.packb({"type": "x", "a": [1, 2, 3]})[:-2], "not a msgpack"),  # truncated
    ("text frame", "binary"),
])
def test_malformed_frames_are_one_protocol_error(frame, words):
    with pytest.raises(ProtocolError, match=words):
        decode(frame)


def test_random_bytes_never_escape_as_another_exception():
    rng = np.random.default_rng(1)
    valid = encode({"type": "step", "actions": np.zeros((12, 4), np.float32)})
    for i in range(2000):
        if i % 2:
            frame = rng.bytes(int(rng.integers(0, 200)))
        else:  # a valid frame with a few bytes flipped, or cut short
            data = bytearray(valid)
            for j in rng.integers(0, len(data), 3):
                data[j] = int(rng.integers(0, 256))
            frame = bytes(data[: int(rng.integers(1, len(data) + 1))])
        with contextlib.suppress(ProtocolError):
            decode(frame)


def test_spaces_round_trip():
    space = spaces.Dict({"state": spaces.Box(-np.inf, np.inf, (39,), np.float32),
                         "rgb_corner": spaces.Box(0, 255, (8, 8, 3), np.uint8)})
    back = rebuild(decode(encode({"type": "x", "s": describe(space)}))["s"])
    assert back == space
    with pytest.raises(ProtocolError, match="unknown space kind"):
        rebuild({"kind": "tuple"})


def test_token_sources_and_constant_time_check(tmp_path):
    path = tmp_path / "token"
    token = write_new_token(path)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert read_token(path) == token
    assert read_token(None, environ={"WARL_REMOTE_TOKEN": token}) == token
    with pytest.raises(ConfigError, match="no token"):
        read_token(None, environ={})
    with pytest.raises(ConfigError, match="at least 16"):
        read_token(None, environ={"WARL_REMOTE_TOKEN": "short"})
    with pytest.raises(ConfigError, match="cannot read the token file"):
        read_token(tmp_path / "missing")
    assert authorized(bearer(token)["Authorization"], token)
    assert not authorized(bearer(token + "x")["Authorization"], token)
    assert not authorized(None, token) and not authorized(token, token)


def test_safety_limits_clip_actions_and_keep_the_arm_in_its_box():
    limits = SafetyLimits.from_mapping({"action_low": -0.5, "action_high": 0.5,
                                        "workspace_low": [0, 0, 0],
                                        "workspace_high": [1, 1, 0.1]}, action_dim=4)
    obs = {"state": np.array([0.5, 0.5, 0.098, 0.0], np.float32)}
    safe, stopped = limits.apply(np.array([2.0, -0.2, 1.0, -3.0], np.float32), obs)
    # x and the gripper clipped to 0.5; z shortened so that 0.098 + 0.01 * dz stays <= 0.1.
    assert safe[0] == pytest.approx(0.5) and safe[3] == pytest.approx(-0.5)
    assert safe[2] == pytest.approx(0.2, abs=1e-4) and stopped
    _, stopped = limits.apply(np.array([0.1, 0.1, -0.1, 0.0], np.float32), obs)
    assert not stopped
    for bad, words in (({"action_low": 1}, "both"), ({"workspace_low": [1, 1, 1],
                                                      "workspace_high": [0, 0, 0]}, "exceeds"),
                       ({"speed": 1}, "unknown key")):
        with pytest.raises(ConfigError, match=words):
            SafetyLimits.from_mapping(bad, action_dim=4)
