"""`RemoteEnv`: an env served by `warl serve`, used through the ordinary Gymnasium API.

Spaces, the served env id, the control rate and the cameras come from the handshake. ``step``
sends one action; ``step_chunk`` (what `ChunkedEnv` uses) sends a whole chunk, which the
serving side executes locally at its control rate and may end early (an intervention, a
safety stop, the episode's end).

When the link drops, the env reconnects (``reconnect_attempts`` times, backing off) and asks
the serving side for every step after the last one it delivered: the steps the interrupted
request executed are returned as that request's result, and the episode is marked truncated
(the robot held position meanwhile; the next call is a reset). Steps are numbered (epoch, seq)
by the serving side, so none is delivered twice. The serving side keeps every step until it
is acknowledged: with ``auto_ack`` the env acknowledges what it delivered at each reset; a
training session instead acknowledges what its checkpoint holds (`acknowledge`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import gymnasium as gym
import numpy as np

from warl.core.envs.contract import INSTRUCTION_KEY, INTERVENED_KEY, SUCCESS_KEY
from warl.core.errors import ConfigError
from warl.core.remote.auth import TOKEN_ENV, read_token
from warl.core.remote.client import LinkDown, RemoteLink
from warl.core.remote.spaces import rebuild
from warl.core.remote.wire import STREAM_PATTERN

Watermark = tuple[int, int]
T = TypeVar("T")


class RemoteEnv(gym.Env[dict[str, np.ndarray], np.ndarray]):
    """The learner side of a remote env.

    Args:
        url: ``ws://host:port`` or ``wss://host:port`` of `warl serve`.
        stream: which env of the serving side this one drives (each stream has its own; a
            training session uses ``train`` and ``eval``) [default].
        token_file: a file holding the bearer token; without it, ``token_env``.
        token_env: the environment variable holding the token [WARL_REMOTE_TOKEN].
        timeout: seconds to wait for a connection or a response.
        compress: ``png`` or ``jpeg`` to receive camera images compressed; none by default.
        reconnect_attempts: reconnections tried after a link loss before giving up.
        auto_ack: acknowledge delivered steps at each reset (off in a training session,
            which acknowledges what its checkpoints hold).
        ca_file: a CA bundle for ``wss://`` with a self-signed certificate.
        render_mode: ``rgb_array``: `render` returns the served env's frame (the serving side
            must have made its env with ``render_mode="rgb_array"``, as `warl serve` does).
    """

    metadata = {"render_modes": ["rgb_array"]}

    def __init__(self, url: str = "ws://127.0.0.1:8765", stream: str = "default",
                 token_file: str | None = None,
                 token_env: str = TOKEN_ENV, timeout: float = 30.0, compress: str | None = None,
                 reconnect_attempts: int = 20, auto_ack: bool = True,
                 ca_file: str | None = None, render_mode: str | None = None) -> None:
        if not STREAM_PATTERN.match(stream):
            raise ConfigError(f"stream {stream!r}: use letters, digits, '.', '_', '-' (at most "
                              f"64, starting with a letter or digit)")
        self._token = read_token(token_file, token_env)
        self.stream = stream
        self._link_args = dict(url=f"{url.rstrip('/')}/{stream}", token=self._token,
                               timeout=timeout, compress=compress, ca_file=ca_file)
        self.url, self.reconnect_attempts, self.auto_ack = url, reconnect_attempts, auto_ack
        self.render_mode = render_mode
        self.link = self._connect()
        hello = self.link.hello
        self.served_id: str = str(hello["env_id"])
        self.observation_space = rebuild(hello["observation_space"])
        self.action_space = rebuild(hello["action_space"])
        self.action_dim = int(np.asarray(hello["action_space"]["low"]).shape[-1])
        self.control_hz = float(hello.get("control_hz") or 0.0)
        self.cameras = list(hello.get("cameras") or [])
        self.chunk_max = int(hello["chunk_max"])
        self.metadata = {**self.metadata, "render_fps": self.control_hz or 30}
        self.delivered: Watermark = (0, -1)  # the last (epoch, seq) handed to the caller
        self.reconnects = 0
        self._in_episode = False
        self._last_obs: dict[str, np.ndarray] = {}

    # --- link -------------------------------------------------------------------------------
    def _call(self, message: dict[str, Any]) -> dict[str, Any]:
        return self.link.request(message)

    def _connect(self) -> RemoteLink:
        """A new link, retried ``reconnect_attempts`` times with backoff (a serving side that
        is starting or restarting)."""
        delay = 0.05
        for attempt in range(max(1, self.reconnect_attempts)):
            try:
                return RemoteLink(**self._link_args)  # type: ignore[arg-type]
            except LinkDown:
                if attempt + 1 >= self.reconnect_attempts:
                    raise
                time.sleep(delay)
                delay = min(2 * delay, 2.0)
        raise AssertionError("unreachable")

    def _reconnect(self) -> None:
        self.link.close()
        self.link = self._connect()
        self.reconnects += 1

    def _relinked(self, call: Callable[[], T]) -> T:
        """``call()``, reconnecting after each link loss (``reconnect_attempts`` in all): a
        serving side may restart again while the first request after a restart is in flight."""
        for attempt in range(max(1, self.reconnect_attempts)):
            try:
                return call()
            except LinkDown:
                if attempt + 1 >= self.reconnect_attempts:
                    raise
                self._reconnect()
        raise AssertionError("unreachable")

    def _advance(self, epoch: int, seq: int) -> bool:
        """Mark (epoch, seq) delivered; False if it already was (a duplicate)."""
        if (epoch, seq) <= self.delivered:
            return False
        self.delivered = (epoch, seq)
        return True

    def pending(self) -> list[dict[str, Any]]:
        """Every step the serving side holds after what this env delivered, in order."""
        rows: list[dict[str, Any]] = []
        after = self.delivered
        while True:
            reply = self._call({"type": "pending", "after": list(after)})
            page = reply["steps"]
            rows += page
            if not reply.get("more") or not page:
                return rows
            after = (int(page[-1]["epoch"]), int(page[-1]["seq"]))

    def acknowledge(self, upto: Watermark | None = None) -> int:
        """Tell the serving side it may drop every step up to ``upto`` (default: all that was
        delivered); returns how many it dropped."""
        epoch, seq = self.delivered if upto is None else upto
        if seq < 0:
            return 0
        return int(self._call({"type": "ack", "epoch": epoch, "seq": seq})["dropped"])

    @property
    def remote_watermark(self) -> tuple[str, int, int]:
        """(stream, epoch, seq) of the last step delivered: `ChunkedEnv` reports it with each
        chunk (not in ``info``, which must repeat for the same seed and actions)."""
        return (self.stream, *self.delivered)

    # --- gymnasium --------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        super().reset(seed=seed)

        def call() -> dict[str, Any]:
            if self.auto_ack:
                self.acknowledge()
            return self._call({"type": "reset", "seed": seed})

        reply = self._relinked(call)
        self._advance(int(reply["epoch"]), int(reply["seq"]))
        self._in_episode = True
        self._last_obs = dict(reply["obs"])
        return dict(reply["obs"]), {INSTRUCTION_KEY: str(reply.get("instruction", "")),
                                    "episode": int(reply["episode"])}

    def step(self, action: np.ndarray) -> tuple[dict[str, np.ndarray], float, bool, bool,
                                                 dict[str, Any]]:
        obs, rewards, terminated, truncated, info = self.step_chunk(
            np.asarray(action, np.float32)[None])
        info[INTERVENED_KEY] = bool(info["intervened"][0])
        return obs, float(rewards.sum()), terminated, truncated, info

    def step_chunk(self, actions: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray,
                                                        bool, bool, dict[str, Any]]:
        """Execute up to ``chunk_max`` actions on the serving side; returns (last obs,
        per-step rewards, terminated, truncated, info with ``executed`` (k, A),
        ``intervened`` (k,), ``ended`` and ``success``)."""
        if not self._in_episode:
            raise RuntimeError("step after the episode ended: call reset() first")
        try:
            reply = self._call({"type": "step", "actions": np.asarray(actions, np.float32)})
        except LinkDown:
            return self._recover()
        epoch, (first, last) = int(reply["epoch"]), reply["seqs"]
        for seq in range(int(first), int(last) + 1):
            self._advance(epoch, seq)
        terminated, truncated = bool(reply["terminated"]), bool(reply["truncated"])
        self._in_episode = not (terminated or truncated)
        info = {**reply.get("info", {}), "executed": reply["executed"],
                "intervened": reply["intervened"], "ended": reply["ended"],
                SUCCESS_KEY: bool(reply["success"]), "clipped": int(reply["clipped"])}
        self._last_obs = dict(reply["obs"])
        return self._last_obs, np.asarray(reply["rewards"]), terminated, truncated, info

    def _recover(self) -> tuple[dict[str, np.ndarray], np.ndarray, bool, bool, dict[str, Any]]:
        """After a link loss mid-request: reconnect, collect what the request executed, and
        end the episode as truncated."""
        self._reconnect()
        rows = [r for r in self._relinked(self.pending) if r["type"] == "step"
                and self._advance(int(r["epoch"]), int(r["seq"]))]
        self._in_episode = False
        if not rows:  # nothing of the request ran: the episode ends where it stood
            return (self._last_obs, np.zeros(0, np.float32), False, True,
                    {"executed": np.zeros((0, self.action_dim), np.float32),
                     "intervened": np.zeros(0, bool), "ended": "link", SUCCESS_KEY: False,
                     "clipped": 0})
        last = rows[-1]
        info = {"executed": np.stack([r["action"] for r in rows]),
                "intervened": np.asarray([r["intervened"] for r in rows]), "ended": "link",
                SUCCESS_KEY: bool(last["success"]), "clipped": 0}
        return (dict(last["obs"]), np.asarray([r["reward"] for r in rows], np.float32),
                bool(last["terminated"]), not bool(last["terminated"]), info)

    def render(self) -> np.ndarray | None:
        if self.render_mode != "rgb_array":
            return None
        frame = self._call({"type": "render"}).get("frame")
        return None if frame is None else np.asarray(frame)

    def scripted_expert(self) -> Any:
        """The served env's scripted expert, run on this side from the served id (the learner
        side needs that env's plugin installed; the expert reads only observations)."""
        from warl.core.registry import default_registry

        local = default_registry().make(self.served_id, kind="env")
        try:
            return local.unwrapped.scripted_expert()
        finally:
            local.close()

    def close(self) -> None:
        self.link.close()
        super().close()


def served_id(env: Any) -> str | None:
    """The id a remote env serves (None for any other env)."""
    unwrapped = getattr(env, "unwrapped", env)
    return unwrapped.served_id if isinstance(unwrapped, RemoteEnv) else None
