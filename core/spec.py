"""`PluginSpec`: the static description of one plugin, readable without importing it."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from warl.core.errors import SpecError

KINDS: tuple[str, ...] = ("env", "algorithm", "world_model", "reward")

# `namespace/name`; the same grammar as Gymnasium's `namespace/name[-vN]`, so every env id is
# also a valid Gymnasium id (see warl.gym).
ID_PATTERN = re.compile(r"^[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.:-]*$")
# Algorithms are named after their method (``halo-wa``, ``wa-base``), so their namespace is
# optional (``sb3/sac`` has one).
ALGORITHM_ID_PATTERN = re.compile(r"^([A-Za-z0-9][\w.-]*/)?[A-Za-z0-9][\w.:-]*$")
TARGET_PATTERN = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")


@dataclass(frozen=True)
class PluginSpec:
    """What a hook returns for one plugin.

    Attributes:
        id: ``namespace/name``, e.g. ``metaworld/peg-insert-side``.
        kind: one of ``env``, ``algorithm``, ``world_model``, ``reward``.
        target: ``"module:attr"`` of the factory or class; imported only on ``make()``.
        summary: one line shown by ``warl list``.
        requires: top-level import names the target needs (checked without importing).
        extra: the pip extra of ``provider`` that installs ``requires`` (e.g. ``metaworld``).
        tags: free-form labels for filtering.
        defaults: JSON-serializable keyword arguments passed to the target by ``make()``.
        provider: distribution (or plugin) name that registered the spec; filled in by warl.
        provider_version: that distribution's version; filled in by warl.
        deployment_gap: envs only: the deployment-gap wrappers ``warl eval`` and ``warl train``
            apply by default (`warl.core.envs.gap.apply_deployment_gap`); demonstrations and
            pretraining never use them.
        check_kwargs: extra keyword arguments ``warl check`` passes to build a small instance
            (e.g. ``{env: ..., pretrained: false}`` for a world model: untrained weights).
        camera: envs only: the camera that models read and videos show unless told otherwise
            (``corner`` for MetaWorld, ``base_camera`` for ManiSkill); `main_camera`.
        settings: optional ``"module:attr"`` of a light checker: called with the user's
            settings (a dict) before any work, it raises `ConfigError` on a bad one; its module
            imports nothing heavy, so a typo is reported at once. Without it the target is
            imported and its ``make_config`` (or its keywords) checks them.
    """

    id: str
    kind: str
    target: str
    summary: str = ""
    requires: tuple[str, ...] = ()
    extra: str | None = None
    tags: tuple[str, ...] = ()
    defaults: Mapping[str, Any] = field(default_factory=dict)
    provider: str = ""
    provider_version: str = ""
    deployment_gap: Mapping[str, Any] = field(default_factory=dict)
    check_kwargs: Mapping[str, Any] = field(default_factory=dict)
    settings: str | None = None
    camera: str | None = None

    def __post_init__(self) -> None:
        # Accept lists from YAML/JSON but store tuples so specs stay hashable-ish and immutable.
        object.__setattr__(self, "requires", tuple(self.requires))
        object.__setattr__(self, "tags", tuple(self.tags))
        for name in ("defaults", "deployment_gap", "check_kwargs"):
            object.__setattr__(self, name, dict(getattr(self, name)))
        self.validate()

    def validate(self) -> None:
        """Raise `SpecError` naming the field at fault."""
        who = f"plugin spec {self.id!r}"
        pattern = ALGORITHM_ID_PATTERN if self.kind == "algorithm" else ID_PATTERN
        if not isinstance(self.id, str) or not pattern.match(self.id):
            form = "'name' or 'namespace/name'" if self.kind == "algorithm" else "'namespace/name'"
            raise SpecError(
                f"{who}: id must look like {form} (letters, digits, '-', '_', '.')."
            )
        if self.kind not in KINDS:
            raise SpecError(f"{who}: kind {self.kind!r} is not one of {', '.join(KINDS)}.")
        if not isinstance(self.target, str) or not TARGET_PATTERN.match(self.target):
            raise SpecError(
                f"{who}: target {self.target!r} must be 'package.module:attribute'."
            )
        if self.settings is not None and (not isinstance(self.settings, str)
                                          or not TARGET_PATTERN.match(self.settings)):
            raise SpecError(
                f"{who}: settings {self.settings!r} must be 'package.module:attribute'."
            )
        if not all(isinstance(r, str) and r for r in self.requires):
            raise SpecError(f"{who}: requires must be a list of import names.")
        if not all(isinstance(t, str) for t in self.tags):
            raise SpecError(f"{who}: tags must be strings.")
        for name in ("defaults", "deployment_gap", "check_kwargs"):
            try:
                json.dumps(getattr(self, name), allow_nan=False)
            except (TypeError, ValueError) as exc:
                raise SpecError(
                    f"{who}: {name} must be JSON-serializable (plain numbers, strings, lists, "
                    f"dicts): {exc}"
                ) from None
        if self.deployment_gap and self.kind != "env":
            raise SpecError(f"{who}: deployment_gap applies to envs only, not {self.kind}s.")
        if self.camera is not None and (self.kind != "env" or not isinstance(self.camera, str)):
            raise SpecError(f"{who}: camera is an env's camera name (a string), for envs only.")

    @property
    def namespace(self) -> str:
        """The part before ``/``; empty for a bare algorithm name."""
        return self.id.split("/", 1)[0] if "/" in self.id else ""

    @property
    def install_hint(self) -> str:
        """The pip command that installs what ``requires`` names."""
        if self.extra:
            return f"pip install '{self.provider or 'warl'}[{self.extra}]'"
        return "pip install " + " ".join(self.requires)

    def with_provider(self, name: str, version: str) -> PluginSpec:
        """A copy with the provider filled in, unless the plugin named one itself."""
        return replace(
            self,
            provider=self.provider or name,
            provider_version=self.provider_version or version,
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["requires"] = list(self.requires)
        data["tags"] = list(self.tags)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PluginSpec:
        if not isinstance(data, Mapping):
            raise SpecError(f"a plugin spec must be a mapping, got {type(data).__name__}.")
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(data) - known
        if unknown:
            raise SpecError(
                f"plugin spec {data.get('id')!r}: unknown field(s) {sorted(unknown)}; "
                f"expected some of {sorted(known)}."
            )
        missing = {"id", "kind", "target"} - set(data)
        if missing:
            raise SpecError(f"plugin spec {data.get('id')!r}: missing field(s) {sorted(missing)}.")
        return cls(**data)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> PluginSpec:
        return cls.from_dict(json.loads(text))
