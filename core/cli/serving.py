"""``warl serve ENV_ID``: serve a registered env (a simulator, a robot driver) over the
remote-env protocol, for `remote/*` envs on the learner side."""

from __future__ import annotations

import argparse
import threading
from pathlib import Path
from typing import Any

from warl.core.errors import ConfigError

INTERVENTIONS = ("none", "expert", "keyboard", "gamepad", "spacemouse")


def add_commands(commands: Any) -> None:
    p = commands.add_parser(
        "serve",
        help="serve an env (simulator or robot driver) to a remote learner",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Serves ENV_ID over a WebSocket (wss:// with --tls-cert/--tls-key) to one "
        "learner at a time, which uses it as `remote/...` with the ordinary Gymnasium API. "
        "The learner needs the same bearer token (--token-file here; the env setting "
        "token_file or WARL_REMOTE_TOKEN there). Every executed step is kept in an on-disk "
        "outbox under --state-dir until the learner acknowledges it, so a restart of either "
        "side loses nothing. Safety limits (--safety) apply to every action; an intervention "
        "source (--intervention) always wins and ends the chunk early. docs/robot.md has the "
        "protocol and the two-terminal walkthrough.",
        epilog="examples:\n"
        "  warl serve --new-token ~/.config/warl/token\n"
        "  warl serve metaworld/peg-insert-side --token-file ~/.config/warl/token\n"
        "  warl serve robot/sim-arm --token-file T --safety limits.yaml --port 9000\n"
        "  warl serve metaworld/hammer --token-file T --gap default --intervention expert",
    )
    p.add_argument("env_id", nargs="?", help="registered env id, e.g. metaworld/peg-insert-side")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to bind (default loopback; 0.0.0.0 to accept other machines)")
    p.add_argument("--port", type=int, default=8765, help="TCP port [8765]")
    p.add_argument("--token-file", help="file holding the bearer token (else WARL_REMOTE_TOKEN)")
    p.add_argument("--new-token", metavar="FILE",
                   help="write a fresh random token to FILE (mode 600) and exit")
    p.add_argument("--tls-cert", help="certificate (PEM): serve wss:// instead of ws://")
    p.add_argument("--tls-key", help="the certificate's private key (PEM)")
    p.add_argument("--safety", metavar="FILE",
                   help="YAML of action/workspace limits (see docs/robot.md)")
    p.add_argument("--intervention", default="none", choices=INTERVENTIONS,
                   help="who may take over on this side: none, the env's scripted expert "
                   "behind a deviation gate (simulation), or an operator's keyboard, gamepad or "
                   "SpaceMouse (pip install 'warl[teleop]'; bindings in docs/robot.md)")
    p.add_argument("--gap", default="none",
                   help="deployment gap applied here: none (a real robot), default (the env's) "
                   "or YAML/JSON")
    p.add_argument("--cameras", default=None,
                   help="comma-separated cameras to render (env setting), e.g. corner,gripper")
    p.add_argument("--image-size", type=int, default=None, help="camera image size (env setting)")
    p.add_argument("--state-dir", default=None,
                   help="outbox and epoch counter [~/.cache/warl/serve/<env>]")
    p.add_argument("--max-message", type=int, default=16 * 2**20,
                   help="largest frame accepted or sent, bytes [16 MiB]")
    p.add_argument("--max-streams", type=int, default=4,
                   help="learner-side envs served at once, each with its own env (a robot "
                   "driver's streams share its one arm) [4]")
    p.add_argument("--rate", type=float, default=2000.0, help="messages per second [2000]")
    p.add_argument("--heartbeat", type=float, default=5.0,
                   help="seconds between pings; a learner silent twice as long is dropped")
    p.set_defaults(handler=cmd_serve)


def _tls(cert: str | None, key: str | None) -> Any:
    if not cert and not key:
        return None
    if not (cert and key):
        raise ConfigError("give both --tls-cert and --tls-key for wss://")
    import ssl

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"cannot load the TLS certificate {cert!r} / key {key!r}: {exc}") \
            from None
    return context


def cmd_serve(args: argparse.Namespace) -> int:
    from warl.core.remote.auth import read_token, write_new_token

    if args.new_token:
        write_new_token(args.new_token)
        print(f"wrote a new token to {args.new_token}")
        return 0
    if not args.env_id:
        raise ConfigError("give the env to serve, e.g. `warl serve metaworld/peg-insert-side "
                          "--token-file T`")
    # Everything cheap is checked before the env is built.
    token = read_token(args.token_file)
    ssl_context = _tls(args.tls_cert, args.tls_key)
    if not 0 <= args.port <= 65535:
        raise ConfigError(f"--port {args.port} is not a TCP port (0-65535)")
    streams = Streams(args)
    from warl.core.remote.server import EnvServer

    server = EnvServer(streams, token, host=args.host, port=args.port, ssl=ssl_context,
                       max_message=args.max_message, rate=args.rate, heartbeat=args.heartbeat,
                       max_streams=args.max_streams, outbox=streams.outbox,
                       env_id=streams.spec.id)
    print(f"serving {streams.spec.id} on {server.url} (epoch {streams.epoch}, outbox "
          f"{streams.state_dir}, {len(streams.outbox)} unacknowledged steps); Ctrl-C stops",
          flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
        streams.close()
    return 0


class Streams:
    """Makes the `ServedEnv` of each stream: a simulator gets an env per stream; a robot
    driver (tagged ``robot``) has one arm, which every stream shares (one lock, and the
    stream that reset it last owns it)."""

    def __init__(self, args: argparse.Namespace) -> None:
        from warl.core.assemble import resolve_gap
        from warl.core.checkpoints import cache_root
        from warl.core.make import accepted_kwargs, resolve_target
        from warl.core.registry import default_registry
        from warl.core.remote.outbox import Outbox, next_epoch
        from warl.core.remote.safety import load_limits

        self.args, self.registry = args, default_registry()
        self.spec = spec = self.registry.get(args.env_id, kind="env")
        if "remote" in spec.tags:
            raise ConfigError(f"{spec.id} is itself a remote env; serve the env it stands for")
        self.gap = resolve_gap(spec, args.gap)
        self.kwargs: dict[str, Any] = {}
        if args.cameras:
            self.kwargs["cameras"] = [c for c in args.cameras.split(",") if c]
        if args.image_size:
            self.kwargs["image_size"] = args.image_size
        accepted = accepted_kwargs(resolve_target(spec))
        if accepted is None or "render_mode" in accepted:  # frames for the learner's videos
            self.kwargs["render_mode"] = "rgb_array"
        self.shared = "robot" in spec.tags
        first = self._env()  # built now: a bad setting fails before serving
        self.safety = load_limits(args.safety, int(first.action_space.shape[-1]))
        self._first: Any = first
        self.state_dir = Path(args.state_dir or cache_root() / "serve" /
                              spec.id.replace("/", "__"))
        self.outbox = Outbox(self.state_dir)
        self.epoch = next_epoch(self.state_dir)
        self.teleop: Any = None
        self._device: Any = None
        if args.intervention in ("keyboard", "gamepad", "spacemouse"):
            from warl.core.envs.teleop import TeleopSource, start_device

            # One operator for every stream: the device feeds one source.
            self.teleop = TeleopSource(int(first.action_space.shape[-1]))
            self._device = start_device(args.intervention, self.teleop)
        self._lock = threading.Lock()  # a robot's streams share its lock and owner
        self._owner: dict[str, Any] = {}
        self.envs: list[Any] = [first]

    def _env(self) -> Any:
        from warl.core.envs.gap import apply_deployment_gap

        env = self.registry.make(self.spec.id, kind="env", **self.kwargs)
        return apply_deployment_gap(env, self.gap)

    def __call__(self, stream: str) -> Any:
        from warl.core.remote.serving import ServedEnv

        if self.shared:  # one arm for every stream
            env = self.envs[0]
        elif self._first is not None:  # the env built at start serves the first stream
            env, self._first = self._first, None
        else:
            env = self._env()
            self.envs.append(env)
        intervention = self.teleop
        if self.args.intervention == "expert":
            from warl.core.demos import scripted_expert
            from warl.core.envs.intervention import DeviationGate, GatedExpert

            intervention = GatedExpert(scripted_expert(env, self.spec.id), DeviationGate())
        return ServedEnv(env, self.spec.id, epoch=self.epoch, outbox=self.outbox,
                         stream=stream, safety=self.safety, intervention=intervention,
                         lock=self._lock if self.shared else None,
                         owner=self._owner if self.shared else None)

    def close(self) -> None:
        if self._device is not None:
            self._device.stop()
        for env in self.envs:
            env.close()
        self.outbox.close()
