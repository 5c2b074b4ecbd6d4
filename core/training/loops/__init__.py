"""Stock training loops an algorithm's ``train(session)`` calls (or replaces with its own).

Each is a function of the `Session` and the algorithm, keeps its progress in
``session.counters`` (saved with every checkpoint) so that a killed run resumes with a
bit-identical next update, and asks the algorithm for the members of its Protocol in
`warl.core.training.contract`:

- `off_policy`: collect and update at a UTD ratio, synchronously or with the rollout worker
  beside the learner (HALO-WA, RL-token, PLD).
- `rounds`: a round of episodes with one fixed policy, then updates on the aggregate (DAgger).
- `on_policy`: groups of episodes (G from one initial state for GRPO), then an update.
- `imagination`: `on_policy` in a world-model env, imagined steps counted apart.
- `external`: the algorithm steps its own env and reports each episode (SB3).
- `bc_warmup`: offline updates on the demonstration buffer before online data.
"""

from warl.core.training.loops.external import EpisodeReporter, external
from warl.core.training.loops.imagination import imagination
from warl.core.training.loops.off_policy import off_policy
from warl.core.training.loops.on_policy import on_policy
from warl.core.training.loops.rounds import rounds
from warl.core.training.loops.warmup import bc_warmup

__all__ = ["EpisodeReporter", "bc_warmup", "external", "imagination", "off_policy", "on_policy",
           "rounds"]
