"""The wire format of the remote-env protocol: msgpack maps, numpy arrays as raw bytes.

Every frame is one binary WebSocket message holding a msgpack map. Arrays travel as
``{"__nd__": [dtype, shape], "data": <raw bytes>}`` (numeric dtypes only, little-endian, so
no bytes are ever interpreted as code: never pickle), and camera images optionally as
``{"__img__": "png" | "jpeg", "data": <encoded bytes>}``. `decode` checks the size before
unpacking, refuses anything that is not a map with a ``type``, and rebuilds arrays only from
a whitelisted dtype whose byte count matches the shape; every failure is a `ProtocolError`
with one line saying what was wrong.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from typing import Any

import msgpack
import numpy as np

PROTOCOL = "warl-remote"
VERSION = 1
# 16 MiB: three 128x128 RGB cameras are 144 KiB raw; a chunk result carries one observation.
DEFAULT_MAX_MESSAGE = 16 * 2**20
# Arrays may only be of these dtypes (no object, no void, no structured dtypes).
DTYPES = frozenset({"bool", "uint8", "int8", "uint16", "int16", "uint32", "int32", "uint64",
                    "int64", "float16", "float32", "float64"})
IMAGE_FORMATS = ("png", "jpeg")
# A stream's name, the path of its URL.
STREAM_PATTERN = re.compile(r"^[A-Za-z0-9][\w.-]{0,63}$")
_MAX_DEPTH = 16


class ProtocolError(ValueError):
    """A frame that breaks the protocol: too large, not msgpack, a bad field or array."""


def _pack_array(array: np.ndarray, compress: str | None) -> dict[str, Any]:
    if (compress and array.dtype == np.uint8 and array.ndim == 3 and array.shape[2] == 3):
        return {"__img__": compress, "data": _encode_image(array, compress)}
    dtype = array.dtype.newbyteorder("<") if array.dtype.byteorder == ">" else array.dtype
    if dtype.name not in DTYPES:
        raise ProtocolError(f"cannot send an array of dtype {array.dtype}")
    return {"__nd__": [dtype.name, list(array.shape)],
            "data": np.ascontiguousarray(array, dtype=dtype).tobytes()}


def _encode_image(image: np.ndarray, fmt: str) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format=fmt.upper(), **(
        {"quality": 90} if fmt == "jpeg" else {"compress_level": 1}))
    return buffer.getvalue()


def _decode_image(value: Mapping[str, Any]) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    fmt, data = value.get("__img__"), value.get("data")
    if fmt not in IMAGE_FORMATS or not isinstance(data, bytes):
        raise ProtocolError(f"bad image field (format {fmt!r}; expected one of "
                            f"{', '.join(IMAGE_FORMATS)} with bytes)")
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format is None or image.format.lower() != fmt:
                raise ProtocolError(f"image says {fmt} but holds {image.format}")
            return np.asarray(image.convert("RGB"), dtype=np.uint8)
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise ProtocolError(f"undecodable {fmt} image: {exc}") from None


def _unpack_array(value: Mapping[str, Any]) -> np.ndarray:
    header, data = value.get("__nd__"), value.get("data")
    if (not isinstance(header, list) or len(header) != 2 or not isinstance(data, bytes)
            or not isinstance(header[1], list)):
        raise ProtocolError("bad array field: expected {'__nd__': [dtype, shape], 'data': bytes}")
    dtype, shape = header
    if dtype not in DTYPES:
        raise ProtocolError(f"array dtype {dtype!r} is not allowed")
    if not all(isinstance(n, int) and n >= 0 for n in shape) or len(shape) > 8:
        raise ProtocolError(f"bad array shape {shape!r}")
    expected = int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize
    if expected != len(data):
        raise ProtocolError(f"array of {dtype} {shape} needs {expected} bytes, got {len(data)}")
    return np.frombuffer(data, dtype=np.dtype(dtype).newbyteorder("<")).reshape(shape).copy()


def _to_wire(value: Any, compress: str | None, depth: int = 0) -> Any:
    if depth > _MAX_DEPTH:
        raise ProtocolError("message nested too deeply")
    if isinstance(value, np.ndarray):
        return _pack_array(value, compress)
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Mapping):
        return {str(k): _to_wire(v, compress, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_to_wire(v, compress, depth + 1) for v in value]
    return value


def _from_wire(value: Any, depth: int = 0) -> Any:
    if depth > _MAX_DEPTH:
        raise ProtocolError("message nested too deeply")
    if isinstance(value, dict):
        if "__nd__" in value:
            return _unpack_array(value)
        if "__img__" in value:
            return _decode_image(value)
        return {k: _from_wire(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_wire(v, depth + 1) for v in value]
    return value


def encode(message: Mapping[str, Any], *, compress: str | None = None,
           max_size: int = DEFAULT_MAX_MESSAGE) -> bytes:
    """One frame from a message map; ``compress`` (``png`` | ``jpeg``) encodes H x W x 3
    uint8 arrays as images. Refuses a frame over ``max_size`` bytes."""
    if compress is not None and compress not in IMAGE_FORMATS:
        raise ProtocolError(f"compression {compress!r} is not one of {', '.join(IMAGE_FORMATS)}")
    frame: bytes = msgpack.packb(_to_wire(message, compress), use_bin_type=True)
    if len(frame) > max_size:
        raise ProtocolError(f"message of {len(frame)} bytes exceeds the {max_size}-byte limit")
    return frame


def decode(frame: Any, *, max_size: int = DEFAULT_MAX_MESSAGE) -> dict[str, Any]:
    """The message map of one frame; `ProtocolError` for anything else."""
    if not isinstance(frame, bytes | bytearray | memoryview):
        raise ProtocolError("frames must be binary (a msgpack map), not text")
    if len(frame) > max_size:
        raise ProtocolError(f"message of {len(frame)} bytes exceeds the {max_size}-byte limit")
    try:
        message = msgpack.unpackb(bytes(frame), raw=False, strict_map_key=True)
    except (ValueError, TypeError, RecursionError, msgpack.UnpackException) as exc:
        raise ProtocolError(f"not a msgpack frame: {type(exc).__name__}: {exc}") from None
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise ProtocolError("a message must be a map with a string 'type'")
    return dict(_from_wire(message))


def field(message: Mapping[str, Any], name: str, kind: type | tuple[type, ...]) -> Any:
    """``message[name]`` if it is of ``kind``, else a `ProtocolError` naming the field."""
    value = message.get(name)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        expected = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__
                                                                          for k in kind)
        raise ProtocolError(f"{message.get('type')!r} message: field {name!r} must be "
                            f"{expected}, got {type(value).__name__}")
    return value
