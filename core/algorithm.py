"""The algorithm interface: `Algorithm` is the contract's `Trainable` (see
`warl.core.training.contract` for every member and the Protocol of each stock loop)."""

from __future__ import annotations

from warl.core.training.contract import NEEDS, Trainable

Algorithm = Trainable

__all__ = ["NEEDS", "Algorithm", "Trainable"]
