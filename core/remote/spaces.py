"""Gymnasium spaces as plain messages, so the learner side rebuilds the served env's spaces
from the handshake without importing the served env (only ``Box`` and ``Dict`` of ``Box``:
what the warl env contract uses)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from gymnasium import spaces

from warl.core.remote.wire import ProtocolError


def describe(space: spaces.Space[Any]) -> dict[str, Any]:
    """A message for ``space`` (``low``/``high`` as arrays, sent as raw bytes)."""
    if isinstance(space, spaces.Box):
        return {"kind": "box", "low": np.asarray(space.low), "high": np.asarray(space.high),
                "dtype": np.dtype(space.dtype).name}
    if isinstance(space, spaces.Dict):
        return {"kind": "dict", "spaces": {k: describe(s) for k, s in space.spaces.items()}}
    raise TypeError(f"a remote env serves Box and Dict spaces only, not {type(space).__name__}")


def rebuild(message: Any) -> spaces.Space[Any]:
    """The space a `describe` message stands for; `ProtocolError` when malformed."""
    if not isinstance(message, Mapping):
        raise ProtocolError("a space must be a map")
    kind = message.get("kind")
    if kind == "dict":
        inner = message.get("spaces")
        if not isinstance(inner, Mapping):
            raise ProtocolError("a dict space needs 'spaces'")
        return spaces.Dict({str(k): rebuild(v) for k, v in inner.items()})
    if kind == "box":
        low, high, dtype = message.get("low"), message.get("high"), message.get("dtype")
        if (not isinstance(low, np.ndarray) or not isinstance(high, np.ndarray)
                or low.shape != high.shape or not isinstance(dtype, str)):
            raise ProtocolError("a box space needs low and high arrays of one shape and a dtype")
        try:
            return spaces.Box(low, high, shape=low.shape, dtype=np.dtype(dtype))
        except (TypeError, ValueError) as exc:
            raise ProtocolError(f"bad box space: {exc}") from None
    raise ProtocolError(f"unknown space kind {kind!r}")
