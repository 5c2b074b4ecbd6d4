"""Rollout workers as Ray actors (``train.backend=ray``), the scale-out engine.

``workers`` actors each build the session's collector from its `CollectorRecipe` (its own envs,
deployment gap, WA model and policy copy, one torch thread) and answer the same calls as the
other backends, round-robin. A policy state (with the WA model's weights when the algorithm
trains them) is put in Ray's object store once and every actor reads it from there; finished
episodes come back as one batch per call.

Ray connects to the cluster ``RAY_ADDRESS`` names, or starts a local one with the machine's
cores (`ray_init`); a cluster this module started is shut down on `close`. An actor that dies
is restarted by Ray and its pending calls run again: each is fixed by its seeds and weights,
so the episodes come back exactly as they would have.
"""

from __future__ import annotations

import os
import pickle
from concurrent.futures import Future
from typing import Any

from warl.core.errors import ConfigError
from warl.core.rollout.recipe import CollectorRecipe

MAX_RESTARTS = 3


def require_ray() -> Any:
    """The ``ray`` module, or one clear error saying how to install it."""
    try:
        import ray
    except ImportError as exc:
        raise ConfigError("the Ray backend needs Ray: pip install 'warl[ray]'") from exc
    return ray


def ray_init(num_cpus: int | None = None) -> bool:
    """Connect to Ray: the cluster at ``RAY_ADDRESS`` if set, else a fresh local one (no
    dashboard). Returns whether this call started it (and so must shut it down)."""
    ray = require_ray()
    if ray.is_initialized():
        return False
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    address = os.environ.get("RAY_ADDRESS")
    if address:
        ray.init(address=address, log_to_driver=False)
    else:
        ray.init(address="local", num_cpus=num_cpus or os.cpu_count() or 1,
                 include_dashboard=False, log_to_driver=False)
    return True


class CollectorActor:
    """The actor's body: a collector built from the recipe, answering `Collector` calls."""

    def __init__(self, recipe: bytes) -> None:
        # The recipe comes from this run's own driver (pickled there), never from outside.
        self.collector = pickle.loads(recipe).build()

    def ready(self) -> bool:
        return True

    def pid(self) -> int:
        """The actor's process id (a restarted actor has a new one)."""
        return os.getpid()

    def call(self, method: str, *args: Any) -> Any:
        return getattr(self.collector, method)(*args)


class RayBackend:
    """``workers`` `CollectorActor`s; `submit` hands calls to them in turn."""

    def __init__(self, recipe: CollectorRecipe, workers: int = 1) -> None:
        import ray

        self._owns = ray_init()
        cpus = float(ray.cluster_resources().get("CPU", 1.0))
        actor: Any = ray.remote(CollectorActor)
        actor = actor.options(
            num_cpus=min(1.0, cpus / workers), max_restarts=MAX_RESTARTS,
            max_task_retries=MAX_RESTARTS)
        # Held for the backend's life: Ray rebuilds a restarted actor from this object.
        self._recipe = ray.put(pickle.dumps(recipe))
        self.actors: list[Any] = [actor.remote(self._recipe) for _ in range(workers)]
        self.workers = workers
        try:
            ray.get([a.ready.remote() for a in self.actors])
        except Exception:
            self.close()
            raise
        self._turn = 0
        self._shared: tuple[Any, Any] | None = None  # (the last state shared, its ref)

    def _share(self, state: Any) -> Any:
        """A policy state as an object-store reference, put once however many actors read it
        (Ray resolves a top-level reference argument before the call runs)."""
        import ray

        if state is None:
            return None
        if self._shared is None or self._shared[0] is not state:
            self._shared = (state, ray.put(state))
        return self._shared[1]

    def submit(self, method: str, *args: Any) -> Future[Any]:
        actor = self.actors[self._turn % self.workers]
        self._turn += 1
        args = (self._share(args[0]), *args[1:]) if args else args
        future: Future[Any] = actor.call.remote(method, *args).future()
        return future

    def close(self) -> None:
        import ray

        for actor in self.actors:
            ray.kill(actor)
        self.actors = []
        if self._owns:
            ray.shutdown()
