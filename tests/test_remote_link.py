"""The remote-env link over a real loopback socket: authentication, limits, fuzzed frames on
both sides, safety, holding position, interventions ending a chunk, and a serving side that
restarts without losing or repeating a step."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect
from websockets.sync.server import serve

from warl.core.envs.chunked import ChunkedEnv
from warl.core.errors import ConfigError
from warl.core.remote.auth import bearer
from warl.core.remote.client import LinkDown, RemoteError, RemoteLink, Unauthorized
from warl.core.remote.outbox import Outbox, next_epoch
from warl.core.remote.safety import SafetyLimits
from warl.core.remote.server import EnvServer
from warl.core.remote.serving import ServedEnv
from warl.core.remote.wire import ProtocolError, decode, encode
from warl.plugins.envs.remote.env import RemoteEnv
from warl.plugins.envs.sim_arm.driver import SimArm

TOKEN = "t" * 32


@pytest.fixture(autouse=True)
def _token(monkeypatch):
    monkeypatch.setenv("WARL_REMOTE_TOKEN", TOKEN)


def _served(tmp_path, env=None, **kwargs):
    env = env or SimArm(control_hz=200.0, lockstep=True)
    return ServedEnv(env, "robot/sim-arm", epoch=next_epoch(tmp_path), outbox=Outbox(tmp_path),
                     **kwargs)


def _server(served, **kwargs):
    return EnvServer(served, TOKEN, port=0, heartbeat=1.0, **kwargs).start()


def test_handshake_reset_and_chunks(tmp_path):
    with _server(_served(tmp_path)) as server:
        env = RemoteEnv(url=server.url)
        assert env.served_id == "robot/sim-arm" and env.control_hz == 200.0
        assert env.observation_space["state"].shape == (10,)
        obs, info = env.reset(seed=3)
        assert info["instruction"] == "Reach the goal." and obs["state"].shape == (10,)
        obs, rewards, terminated, _truncated, info = env.step_chunk(np.zeros((6, 4), np.float32))
        assert len(rewards) == 6 and info["ended"] == "complete" and not terminated
        assert env.delivered == (1, 6)  # the reset is seq 0, then six steps
        assert env.acknowledge() == 7 and len(server.served.outbox) == 0
        env.close()


def test_missing_or_wrong_token_is_refused(tmp_path):
    with _server(_served(tmp_path)) as server:
        with pytest.raises(Unauthorized, match="401"):
            RemoteLink(server.url, "w" * 32)
        with pytest.raises(InvalidStatus, match="401"), connect(server.url, proxy=None):
            pass
        assert server.connections == 0


def test_oversized_messages_are_refused_and_the_server_keeps_serving(tmp_path):
    with _server(_served(tmp_path), max_message=4096) as server:
        link = RemoteLink(server.url, TOKEN, max_message=4096)
        with pytest.raises(ProtocolError, match="exceeds the 4096-byte limit"):
            link.request({"type": "step", "actions": np.zeros((200, 4), np.float64)})
        with connect(server.url, additional_headers=bearer(TOKEN), proxy=None,
                     max_size=None) as raw:
            raw.recv(timeout=5)  # hello
            raw.send(b"\x00" * 10_000)
            with pytest.raises(ConnectionClosed) as closed:
                raw.recv(timeout=5)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
        link = RemoteLink(server.url, TOKEN, max_message=4096)  # still serving
        assert link.request({"type": "ping"})["type"] == "pong"


def test_fuzzed_frames_get_errors_and_the_connection_survives(tmp_path):
    rng = np.random.default_rng(0)
    with _server(_served(tmp_path)) as server:
        with connect(server.url, additional_headers=bearer(TOKEN), proxy=None) as raw:
            raw.recv(timeout=5)
            valid = encode({"type": "step", "id": 1, "actions": np.zeros((4, 4), np.float32)})
            frames = [rng.bytes(int(rng.integers(1, 300))) for _ in range(100)]
            frames += [valid[: int(rng.integers(1, len(valid)))] for _ in range(50)]
            frames += [encode({"type": t, "id": 2, **extra}) for t, extra in (
                ("step", {"actions": "left"}), ("step", {"actions": np.zeros((4, 9))}),
                ("step", {"actions": np.full((2, 4), np.nan, np.float32)}),
                ("reset", {"seed": "zero"}), ("ack", {"epoch": "x"}), ("launch", {}),
                ("pending", {"after": [1]}), ("step", {"actions": np.zeros((1, 4), "<i4")}))]
            for frame in frames:
                raw.send(frame)
                assert decode(raw.recv(timeout=5))["type"] == "error"
            raw.send("a text frame")
            assert "binary" in decode(raw.recv(timeout=5))["error"]
            raw.send(encode({"type": "reset", "id": 9, "seed": 0}))
            assert decode(raw.recv(timeout=5))["type"] == "reset"
        assert server.errors == len(frames) + 1


def _garbage_server(replies):
    """A hostile serving side: sends each of ``replies`` in turn, whatever it is asked."""
    def handler(connection):
        for reply in replies:
            try:
                connection.send(reply)
                connection.recv(timeout=5)
            except ConnectionClosed:
                return

    server = serve(handler, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"ws://127.0.0.1:{server.socket.getsockname()[1]}"


@pytest.mark.parametrize("replies, error, words", [
    ([b"\xff\x00garbage"], ProtocolError, "not a msgpack"),
    ([encode({"type": "hello", "protocol": "warl-remote", "version": 99})], ProtocolError,
     "version 99"),
    ([encode({"type": "hello", "protocol": "other"})], ProtocolError, "not a warl remote env"),
])
def test_a_hostile_server_gives_the_learner_one_clear_error(replies, error, words):
    server, url = _garbage_server(replies)
    try:
        with pytest.raises(error, match=words):
            RemoteEnv(url=url, timeout=5)
    finally:
        server.shutdown()


def test_safety_limits_clip_an_out_of_bounds_chunk(tmp_path):
    limits = SafetyLimits.from_mapping({"action_low": -0.5, "action_high": 0.5,
                                        "workspace_low": [-0.3, 0.4, 0.19],
                                        "workspace_high": [0.3, 0.8, 0.35],
                                        # the commanded target: what an action moves
                                        "position_slice": [4, 7]}, action_dim=4)
    with _server(_served(tmp_path, safety=limits)) as server:
        env = RemoteEnv(url=server.url)
        env.reset(seed=0)
        chunk = np.tile(np.array([[3.0, 0.0, -1.0, 2.0]], np.float32), (8, 1))
        obs, _, _, _, info = env.step_chunk(chunk)
        assert np.all(np.abs(info["executed"]) <= 0.5 + 1e-6) and info["clipped"] >= 1
        assert info["ended"] == "safety"  # z reached the floor of the box: the chunk stopped
        assert obs["state"][6] >= 0.19 - 1e-6  # the commanded target never left the box
        env.close()


def test_the_arm_holds_position_when_the_link_drops(tmp_path):
    arm = SimArm(control_hz=200.0, max_speed=0.2)  # its own real-time control loop
    served = _served(tmp_path, env=arm)
    with _server(served) as server:
        env = RemoteEnv(url=server.url, reconnect_attempts=1)
        env.reset(seed=0)
        env.step_chunk(np.tile(np.array([[1.0, 1.0, 1.0, 0.0]], np.float32), (10, 1)))
        assert np.linalg.norm(arm.target - arm.position) > 0.01  # still moving to the target
        env.link.connection.close()  # the link drops
        deadline = time.monotonic() + 5
        while np.linalg.norm(arm.target - arm.position) > 1e-9 and time.monotonic() < deadline:
            time.sleep(0.01)
        held = arm.target.copy()
        time.sleep(0.1)  # twenty control ticks later, nothing moved
        assert np.allclose(arm.target, held) and np.allclose(arm.position, held)
    arm.close()


class _TakeOverOnce:
    """An intervention source that takes over at one step of the episode."""

    def __init__(self, at: int) -> None:
        self.at, self.calls = at, 0

    def reset(self) -> None:
        self.calls = 0

    def __call__(self, observation, proposed):
        self.calls += 1
        return np.full(4, 0.25, np.float32) if self.calls == self.at else None


def test_an_intervention_ends_the_chunk_and_the_learner_reinfers_the_rest(tmp_path):
    with _server(_served(tmp_path, intervention=_TakeOverOnce(at=3))) as server:
        refills = []

        def refill(obs, remaining):
            refills.append(remaining)
            return np.full((remaining, 4), -0.1, np.float32)

        env = ChunkedEnv(RemoteEnv(url=server.url), chunk=8, refill=refill)
        env.reset(seed=0)
        _, _, _, _, info = env.step(np.zeros((8, 4), np.float32))
        assert info["steps_executed"] == 8 and refills == [5]
        assert info["intervened"].tolist() == [False, False, True] + [False] * 5
        assert np.allclose(info["executed_actions"][2], 0.25)  # the operator's action ran
        assert np.allclose(info["executed_actions"][3:], -0.1)  # the re-inferred rest
        env.close()


def test_a_restarted_server_loses_and_repeats_nothing(tmp_path):
    served = _served(tmp_path)
    server = _server(served)
    port = server.port
    env = RemoteEnv(url=server.url, auto_ack=False)
    env.reset(seed=0)
    delivered = 0
    for _ in range(3):
        _, rewards, _, _, _ = env.step_chunk(np.zeros((5, 4), np.float32))
        delivered += len(rewards)
    # The serving side dies after executing a chunk whose result never reached the learner.
    served.step(np.zeros((4, 4), np.float32))
    server.shutdown()
    served.outbox.close()
    restarted = _served(tmp_path)
    assert restarted.epoch == 2
    server = EnvServer(restarted, TOKEN, port=port, heartbeat=1.0).start()
    try:
        _obs, rewards, _terminated, truncated, info = env.step_chunk(np.zeros((5, 4), np.float32))
        assert truncated and info["ended"] == "link" and len(rewards) == 4
        delivered += len(rewards)
        assert env.reconnects == 1 and env.delivered == (1, 19)
        env.reset(seed=1)  # a new episode in the new epoch
        _, rewards, _, _, _ = env.step_chunk(np.zeros((5, 4), np.float32))
        delivered += len(rewards)
        rows = [decode(f) for _, _, f in restarted.outbox.pending("default")]
        steps = [(r["epoch"], r["seq"]) for r in rows if r["type"] == "step"]
        assert delivered == len(steps) == len(set(steps)) == 24  # none lost, none twice
        env.acknowledge()
        assert len(restarted.outbox) == 0
    finally:
        server.shutdown()
        env.close()


def test_a_dead_server_is_link_down_after_the_retries(tmp_path):
    served = _served(tmp_path)
    server = _server(served)
    env = RemoteEnv(url=server.url, reconnect_attempts=2, timeout=2)
    env.reset(seed=0)
    server.shutdown()
    with pytest.raises(LinkDown, match="cannot connect"):
        env.step_chunk(np.zeros((2, 4), np.float32))


def test_streams_have_their_own_envs_and_outbox_rows(tmp_path):
    outbox, epoch = Outbox(tmp_path), next_epoch(tmp_path)
    made = []

    def make_stream(name):
        made.append(name)
        return ServedEnv(SimArm(lockstep=True), "robot/sim-arm", epoch=epoch, outbox=outbox,
                         stream=name)

    with EnvServer(make_stream, TOKEN, port=0, max_streams=2).start() as server:
        train, evaluation = (RemoteEnv(url=server.url, stream=s) for s in ("train", "eval"))
        train.reset(seed=0)
        evaluation.reset(seed=1)
        train.step_chunk(np.zeros((3, 4), np.float32))  # interleaved: separate envs
        evaluation.step_chunk(np.zeros((2, 4), np.float32))
        assert made == ["train", "eval"]
        assert len(list(outbox.pending("train"))) == 4 and len(list(outbox.pending("eval"))) == 3
        with pytest.raises(RemoteError, match="at most 2 stream"):
            RemoteEnv(url=server.url, stream="third")
        with pytest.raises(ConfigError, match="stream 'bad name'"):
            RemoteEnv(url=server.url, stream="bad name")
        with pytest.raises(InvalidStatus, match="400"), connect(
                f"{server.url}/bad!name", additional_headers=bearer(TOKEN), proxy=None):
            pass


def test_streams_sharing_one_robot_must_reset_after_another_did(tmp_path):
    arm, outbox, epoch = SimArm(lockstep=True), Outbox(tmp_path), next_epoch(tmp_path)
    lock, owner = threading.Lock(), {}
    with EnvServer(lambda name: ServedEnv(arm, "robot/sim-arm", epoch=epoch, outbox=outbox,
                                          stream=name, lock=lock, owner=owner),
                   TOKEN, port=0).start() as server:
        a, b = (RemoteEnv(url=server.url, stream=s) for s in ("a", "b"))
        a.reset(seed=0)
        b.reset(seed=1)
        with pytest.raises(RemoteError, match="stream 'b' reset the env"):
            a.step_chunk(np.zeros((2, 4), np.float32))
        b.step_chunk(np.zeros((2, 4), np.float32))


def test_wss_with_a_self_signed_certificate(tmp_path):
    import shutil
    import ssl
    import subprocess

    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    with _server(_served(tmp_path), ssl=context) as server:
        assert server.url.startswith("wss://")
        env = RemoteEnv(url=server.url, ca_file=str(cert))
        env.reset(seed=0)
        assert len(env.step_chunk(np.zeros((3, 4), np.float32))[1]) == 3
        env.close()
        with pytest.raises(LinkDown, match="CERTIFICATE_VERIFY_FAILED"):  # not trusted
            RemoteEnv(url=server.url, reconnect_attempts=1)


def test_frames_beyond_the_rate_limit_are_refused(tmp_path):
    server = _server(_served(tmp_path), rate=5.0)
    with server, connect(server.url, additional_headers=bearer(TOKEN), proxy=None) as raw:
        raw.recv(timeout=5)
        replies = []
        for i in range(20):  # a burst, far above 5 per second
            raw.send(encode({"type": "ping", "id": i}))
            replies.append(decode(raw.recv(timeout=5)))
        refused = [r for r in replies if r["type"] == "error"]
        assert len(refused) >= 10 and "rate limit" in refused[0]["error"]
        time.sleep(0.5)  # the bucket refills
        raw.send(encode({"type": "ping", "id": 99}))
        assert decode(raw.recv(timeout=5))["type"] == "pong"
