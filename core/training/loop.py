"""Deprecated alias of warl 0.1's loop module, so that 0.1 plugins importing from it still load.

warl 0.2 trains through ``algorithm.train(session)`` and the stock loops
(`warl.core.training.loops`); ``LearnSession`` is now `EpisodeReporter` (the same members).
See docs/plugins.md#porting-from-warl-01.
"""

from __future__ import annotations

import warnings

from warl.core.training.loops.external import EpisodeReporter
from warl.core.training.runner import BASELINE, TrainResult, train
from warl.core.training.session import TRAIN_SEED_BASE, Counters, train_seed

LearnSession = EpisodeReporter

warnings.warn("warl.core.training.loop is deprecated: use warl.core.training.session, "
              "warl.core.training.loops and warl.core.training.runner (docs/plugins.md"
              "#porting-from-warl-01)", DeprecationWarning, stacklevel=2)

__all__ = ["BASELINE", "TRAIN_SEED_BASE", "Counters", "LearnSession", "TrainResult", "train",
           "train_seed"]
