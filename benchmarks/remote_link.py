"""The remote-env link on loopback, measured in one run.

1. Chunk round trip at 50 Hz: a camera stub env (three 128x128 RGB cameras and a 14-D state,
   each step instantaneous, so only the link is timed) served by `EnvServer` in a process of
   its own, as a robot's would be; the learner sends a one-action chunk every 20 ms and times
   request to response (the serving side writes the step to its outbox before answering),
   raw and with PNG and JPEG images. Target: p99 under 5 ms (a quarter of a 50 Hz period).
   Beside it, the floor: a bare WebSocket echo of the same reply size, paced the same way.
2. Env steps/s of a MetaWorld task with one 64x64 camera, 12-action chunks of random actions:
   in-process `ChunkedEnv` against the same through `warl serve`'s server and `RemoteEnv`.

    python benchmarks/remote_link.py [--requests 1000] [--seconds 15] [--out FILE]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("MUJOCO_GL", "egl")

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from warl.core.envs.chunked import ChunkedEnv
from warl.core.remote.outbox import Outbox, next_epoch
from warl.core.remote.server import EnvServer
from warl.core.remote.serving import ServedEnv
from warl.core.remote.wire import encode
from warl.core.runs import write_json
from warl.plugins.envs.remote.env import RemoteEnv

TOKEN = "b" * 32


class CameraStub(gym.Env[dict[str, np.ndarray], np.ndarray]):
    """Three 128x128 cameras and a 14-D state; steps take no time (a smooth synthetic scene,
    so that image compression sees what a camera gives, not noise)."""

    def __init__(self) -> None:
        image = spaces.Box(0, 255, (128, 128, 3), np.uint8)
        self.observation_space = spaces.Dict({  # type: ignore[assignment]
            "state": spaces.Box(-np.inf, np.inf, (14,), np.float32),
            **{f"rgb_{c}": image for c in ("high", "left_wrist", "right_wrist")}})
        self.action_space = spaces.Box(-1, 1, (14,), np.float32)
        ramp = np.linspace(0, 255, 128)
        self._image = np.stack(np.broadcast_arrays(ramp[:, None], ramp[None, :], 96.0),
                               -1).astype(np.uint8)
        self._t = 0

    def _obs(self) -> dict[str, np.ndarray]:
        shifted = np.roll(self._image, self._t, axis=1)
        return {"state": np.full(14, self._t, np.float32),
                **{f"rgb_{c}": shifted for c in ("high", "left_wrist", "right_wrist")}}

    def reset(self, *, seed: int | None = None, options: Any = None) -> Any:
        self._t = 0
        return self._obs(), {"instruction": "stub", "success": False}

    def step(self, action: np.ndarray) -> Any:
        self._t += 1
        return self._obs(), 0.0, False, False, {"success": False}


def serve(env: gym.Env[Any, Any], env_id: str, state: Path) -> EnvServer:
    served = ServedEnv(env, env_id, epoch=next_epoch(state), outbox=Outbox(state))
    return EnvServer(served, TOKEN, port=0).start()


def _serve_stub(state: Path, port: Any, ready: Any) -> None:
    server = serve(CameraStub(), "stub/cameras", state)
    port.value = server.port
    ready.set()
    while True:
        time.sleep(1.0)


def _serve_echo(size: int, port: Any, ready: Any) -> None:
    """The floor: a bare WebSocket server answering each message with ``size`` bytes."""
    from websockets.sync.server import serve as ws_serve

    payload = os.urandom(size)

    def handler(connection: Any) -> None:
        for _ in connection:
            connection.send(payload)

    with ws_serve(handler, "127.0.0.1", 0, compression=None, max_size=None) as server:
        port.value = server.socket.getsockname()[1]
        ready.set()
        server.serve_forever()


def _in_process(target: Any, *args: Any) -> tuple[Any, int]:
    """Start ``target(*args, port, ready)`` in a spawned process; (process, its port)."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    port, ready = context.Value("i", 0), context.Event()
    process = context.Process(target=target, args=(*args, port, ready), daemon=True)
    process.start()
    if not ready.wait(60):
        raise RuntimeError(f"{target.__name__} did not start")
    return process, port.value


def paced(requests: int, call: Any) -> dict[str, float]:
    """Time ``call()`` sent every 20 ms (50 Hz), after 20 warm-up calls."""
    times: list[float] = []
    next_send = time.perf_counter()
    for i in range(requests + 20):
        time.sleep(max(0.0, next_send - time.perf_counter()))
        start = time.perf_counter()
        call(i)
        if i >= 20:
            times.append(1000 * (time.perf_counter() - start))
        next_send += 0.02
    times.sort()
    return {"p50_ms": statistics.median(times), "p99_ms": times[int(0.99 * len(times)) - 1],
            "max_ms": times[-1], "requests": len(times)}


def round_trips(requests: int, compress: str | None, state: Path) -> dict[str, float]:
    process, port = _in_process(_serve_stub, state)
    try:
        env = RemoteEnv(url=f"ws://127.0.0.1:{port}", compress=compress)
        env.reset(seed=0)
        action = np.zeros((1, 14), np.float32)

        def call(i: int) -> None:
            env.step_chunk(action)
            if i % 200 == 0:
                env.acknowledge()

        row = paced(requests, call)
        env.close()
    finally:
        process.kill()
        process.join()
    return row


def bare_round_trips(requests: int) -> dict[str, float]:
    """The same pacing against a bare WebSocket echo of a raw step reply's size: what the
    socket, the WebSocket library and waking from idle cost before warl does anything."""
    from websockets.sync.client import connect

    stub = CameraStub()
    size = len(encode({"type": "step", "obs": stub.reset()[0]}))
    process, port = _in_process(_serve_echo, size)
    try:
        with connect(f"ws://127.0.0.1:{port}", compression=None, max_size=None) as link:
            request = os.urandom(200)

            def call(i: int) -> None:
                link.send(request)
                link.recv()

            row = paced(requests, call)
    finally:
        process.kill()
        process.join()
    return {**row, "reply_bytes": size}


def steps_per_second(env: ChunkedEnv, seconds: float) -> float:
    rng = np.random.default_rng(0)
    env.reset(seed=0)
    steps, start, episode = 0, time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        chunk = rng.uniform(-1, 1, (12, env.action_dim)).astype(np.float32)
        _, _, terminated, truncated, info = env.step(chunk)
        steps += int(info["steps_executed"])
        if terminated or truncated:
            episode += 1
            env.reset(seed=episode)
    return steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--task", default="metaworld/peg-insert-side")
    parser.add_argument("--out", default="benchmarks/results/remote_link.json")
    args = parser.parse_args()
    import warl

    state = Path(tempfile.mkdtemp(prefix="warl-remote-bench-"))
    os.environ["WARL_REMOTE_TOKEN"] = TOKEN
    latency = {"bare_websocket": bare_round_trips(args.requests)}
    latency |= {name: round_trips(args.requests, compress, state / name)
                for name, compress in (("raw", None), ("png", "png"), ("jpeg", "jpeg"))}
    for name, row in latency.items():
        print(f"round trip {name}: p50 {row['p50_ms']:.2f} ms, p99 {row['p99_ms']:.2f} ms")
    kwargs = {"cameras": ["corner"], "image_size": 64}
    local = ChunkedEnv(warl.make(args.task, **kwargs), 12)
    in_process = steps_per_second(local, args.seconds)
    local.close()
    with serve(warl.make(args.task, **kwargs), args.task, state / "steps") as server:
        remote = ChunkedEnv(RemoteEnv(url=server.url, auto_ack=True), 12)
        through_link = steps_per_second(remote, args.seconds)
        remote.close()
    print(f"env steps/s: in-process {in_process:.0f}, through the link {through_link:.0f} "
          f"({through_link / in_process:.2f}x)")
    write_json(Path(args.out), {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "round_trip_50hz_three_128px_cameras": latency, "target_p99_ms": 5.0,
        "env_steps_per_s": {"task": args.task, "in_process": in_process,
                            "through_link": through_link,
                            "ratio": through_link / in_process},
    })


if __name__ == "__main__":
    main()
