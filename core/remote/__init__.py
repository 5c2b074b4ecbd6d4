"""Remote envs: an env served in another process or on another machine (`warl serve`) and
used through the ordinary Gymnasium API (`remote/*` envs). docs/robot.md describes the
protocol, the security model and how to write a robot driver.

- `wire`: the frame format (msgpack, numpy as raw bytes, optional image compression).
- `auth`: the bearer token.
- `spaces`: Gymnasium spaces as messages.
- `safety`: action and workspace limits applied on the serving side.
- `outbox`: executed steps kept on disk until the learner acknowledges them.
- `serving`: the env behind the link (safety, interventions, outbox).
- `server` / `client`: the two ends of the WebSocket.
"""
