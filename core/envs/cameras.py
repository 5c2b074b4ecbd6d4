"""Which camera a model reads when its settings name none: the env's registered `camera`.

The models' configs default to MetaWorld's ``corner``; an env of another family registers its
own main camera (``camera:`` in ``registry.yaml``), and the loaders fill it in before the
config is built, so ``warl eval wa-base --env maniskill/PickCube-v1`` reads ``base_camera``
without a setting. The cache key is computed from the filled-in config, so MetaWorld's cached
models keep their keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def main_camera(env_id: str | None) -> str | None:
    """The env's registered main camera, or None (unknown id, or none registered)."""
    if not env_id:
        return None
    from warl.core.errors import KindMismatchError, UnknownIdError
    from warl.core.registry import default_registry

    try:
        return default_registry().get(env_id, "env").camera
    except (UnknownIdError, KindMismatchError):
        return None


def with_main_camera(settings: Mapping[str, Any], env_id: str | None, key: str = "cameras"
                     ) -> dict[str, Any]:
    """``settings`` with ``key`` (``cameras``: a list, ``camera``: one name) set to the env's
    main camera where the user set none."""
    out = dict(settings)
    camera = main_camera(env_id)
    if camera is not None and key not in out:
        out[key] = [camera] if key == "cameras" else camera
    return out
