"""The two world-model interfaces: `WorldActionModel` (a frozen policy backbone) and `WorldModel`.

A world-action (WA) model maps an observation batch (robot state, camera images, instruction)
to a *reference action chunk* (B, H, A) and the *latent features* Z (B, N, D) of its visual /
action-generation process (HALO-WA section 3.1). A world model predicts future latents (and
frames) from a context and an action chunk (WAM-RL, WoVR). The built-in ``warl/wa-small`` is
both. Tensors are ``torch.Tensor``; torch is imported only for type checking here, so the core
stays importable without it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from warl.core.errors import ConfigError, ContractError

if TYPE_CHECKING:
    import torch

# `WAOutput.features` keys. "latents" is Z itself; "intermediate" is a (B, N', D') token set
# taken from inside the model (the "WA intermediate features" of HALO-WA's table 2).
LATENTS_FEATURE = "latents"
INTERMEDIATE_FEATURE = "intermediate"

ObservationBatch = Mapping[str, Any]  # key -> (B, ...) array or tensor, keys as in the env


@dataclass
class WAOutput:
    """What a WA model returns for a batch of B observations.

    Attributes:
        ref_actions: the reference action chunk a~_{t:t+H-1}, (B, H, A) float32.
        latents: the WA latent tokens Z_t, (B, N, D) float32: HALO-WA's latent memory source.
        features: named feature tensors, at least ``latents`` and ``intermediate``.
    """

    ref_actions: torch.Tensor
    latents: torch.Tensor
    features: dict[str, torch.Tensor] = field(default_factory=dict)

    @property
    def batch_size(self) -> int:
        return int(self.ref_actions.shape[0])

    def to(self, device: Any) -> WAOutput:
        return WAOutput(
            self.ref_actions.to(device),
            self.latents.to(device),
            {k: v.to(device) for k, v in self.features.items()},
        )

    def index(self, i: int | slice) -> WAOutput:
        """The outputs of batch element(s) ``i``, keeping the batch dimension."""
        sl = slice(i, i + 1) if isinstance(i, int) else i
        return WAOutput(
            self.ref_actions[sl], self.latents[sl], {k: v[sl] for k, v in self.features.items()}
        )


@runtime_checkable
class WorldActionModel(Protocol):
    """A frozen WA model: observations -> reference action chunk + latent tokens.

    Attributes:
        env_id: the env (task) the weights were trained for; checked against the env in use.
        observation_keys: the observation keys ``infer`` reads (``state``, ``rgb_<camera>``).
        observation_shapes: per key, the shape of one observation (no batch dimension).
        action_dim: A, the per-step action size.
        horizon: H, the length of the reference chunk.
        latent_shape: (N, D) of the latent tokens.
        config: the JSON-serializable configuration the weights were built with.
    """

    env_id: str
    observation_keys: tuple[str, ...]
    observation_shapes: Mapping[str, tuple[int, ...]]
    action_dim: int
    horizon: int
    latent_shape: tuple[int, int]
    config: Mapping[str, Any]

    def infer(self, observations: ObservationBatch,
              instruction: str | Sequence[str] = "") -> WAOutput:
        """Reference chunks and latents for a batch; never changes the weights.

        A model that samples may also accept ``noise=`` (its sampler's starting noise, one row
        per observation): the rollout engine then draws each env's noise from that env's own
        generator, so batched episodes stay reproducible one by one.
        """
        ...

    def seed(self, seed: int) -> None:
        """Reseed the sampling noise, so a trial's reference chunks are reproducible."""
        ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: Mapping[str, Any]) -> Any: ...


@runtime_checkable
class ActionHead(Protocol):
    """A trainable copy of a WA model's action head (its policy part), for methods that
    fine-tune the WA policy itself by behaviour cloning: HG-DAgger's novice and PLD's
    distilled policy. The copy reads the frozen model's latents Z and the raw ``state``; the
    original model is never changed.
    """

    horizon: int
    action_dim: int

    def parameters(self) -> Any: ...

    def bc_loss(self, latents: torch.Tensor, state: torch.Tensor, actions: torch.Tensor,
                mask: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """The head's own training loss toward ``actions`` (B, H, A), counted only where
        ``mask`` (B, H) is true (only the first C actions of a chunk are ever executed)."""
        ...

    def sample(self, latents: torch.Tensor, state: torch.Tensor,
               generator: torch.Generator | None = None) -> torch.Tensor:
        """An action chunk (B, H, A) in the env's action units."""
        ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: Mapping[str, Any]) -> Any: ...


def action_head_of(model: WorldActionModel, who: str) -> ActionHead:
    """``model.action_head_copy()``, or a clear error naming what ``who`` needs."""
    copy = getattr(model, "action_head_copy", None)
    if copy is None:
        raise ContractError(
            f"{who} fine-tunes a copy of the WA model's action head, but "
            f"{model.config.get('model_id', type(model).__name__)!r} does not provide "
            f"action_head_copy() (see warl.core.world_model.ActionHead)")
    head: ActionHead = copy()
    return head


@runtime_checkable
class WorldModel(Protocol):
    """A world model: frames <-> latents, and latents rolled forward under an action chunk.

    Attributes:
        horizon: H, the action-chunk length ``predict`` consumes.
        latent_shape: (N, D) of one latent frame.
        prediction_steps: K, the number of future latent frames ``predict`` returns.
    """

    horizon: int
    latent_shape: tuple[int, int]
    prediction_steps: int

    def encode(self, observations: ObservationBatch) -> torch.Tensor:
        """Latent frame (B, N, D) of each observation."""
        ...

    def decode(self, latents: torch.Tensor) -> dict[str, torch.Tensor]:
        """Observations reconstructed from latents, keyed as the env's observations."""
        ...

    def predict(self, context: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """Future latents (B, K, N, D) from context latents (B, T, N, D) and actions (B, H, A)."""
        ...

    def train_step(self, batch: Mapping[str, Any]) -> dict[str, float]:
        """One optimisation step of the world part on ``batch``; returns its losses."""
        ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: Mapping[str, Any]) -> Any: ...


def check_compatible(model: WorldActionModel, env: Any, env_id: str | None = None) -> None:
    """Raise `IncompatibleModelError` naming both sides when ``model`` cannot drive ``env``.

    Checks the env id the weights were trained for, the per-step action size, and every
    observation key (and its shape) the model reads. Nothing is ever reshaped to fit.
    """
    from warl.core.errors import IncompatibleModelError

    problems = []
    if env_id is not None and model.env_id and model.env_id != env_id:
        problems.append(
            f"the model was trained for env {model.env_id!r} but the env is {env_id!r}"
        )
    action_shape = tuple(env.action_space.shape)
    if action_shape[-1:] != (model.action_dim,):
        problems.append(
            f"the model outputs {model.action_dim}-D actions but the env's action space has "
            f"shape {action_shape}"
        )
    spaces = getattr(env.observation_space, "spaces", {})
    for key in model.observation_keys:
        want = tuple(model.observation_shapes[key])
        if key not in spaces:
            problems.append(
                f"the model reads observation {key!r} {want} but the env has only "
                f"{sorted(spaces)} (add the camera to the env, e.g. cameras=[...])"
            )
        elif tuple(spaces[key].shape) != want:
            problems.append(
                f"observation {key!r}: the model expects shape {want}, the env gives "
                f"{tuple(spaces[key].shape)}"
            )
    if problems:
        raise IncompatibleModelError(
            f"world-action model ({model.config.get('model_id', type(model).__name__)}) does "
            f"not fit env {env_id or env}: " + "; ".join(problems)
        )


def batch_of(observation: Mapping[str, Any]) -> dict[str, Any]:
    """One env observation as a batch of one (a leading axis on every key)."""
    import numpy as np

    return {key: np.asarray(value)[None] for key, value in observation.items()}


def synthetic_observations(model: WorldActionModel, shape_prefix: tuple[int, ...],
                           seed: int = 0) -> dict[str, Any]:
    """Random observations in ``model``'s layout with leading axes ``shape_prefix``.

    Images are uniform uint8, other keys standard normal float32: inputs for contract checks
    and benchmarks that need no env.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    out: dict[str, Any] = {}
    for key in model.observation_keys:
        shape = (*shape_prefix, *model.observation_shapes[key])
        if key.startswith("rgb_"):
            out[key] = rng.integers(0, 256, shape, dtype=np.uint8)
        else:
            out[key] = rng.normal(size=shape).astype(np.float32)
    return out


def env_kwargs_for(model: WorldActionModel) -> dict[str, Any]:
    """The env keyword arguments (``cameras``, ``image_size``) that give ``model`` its inputs."""
    from warl.core.envs.contract import RGB_PREFIX

    cameras = [k[len(RGB_PREFIX):] for k in model.observation_keys if k.startswith(RGB_PREFIX)]
    if not cameras:
        return {}
    return {"cameras": cameras,
            "image_size": int(model.observation_shapes[RGB_PREFIX + cameras[0]][0])}


def inference_latency(model: WorldActionModel, env_id: str, registry: Any = None,
                      repeats: int = 20) -> float:
    """Median seconds of one ``infer`` on a real observation of ``env_id`` (batch of one)."""
    import statistics
    import time

    from warl.core.registry import default_registry

    registry = registry or default_registry()
    env = registry.make(env_id, kind="env", **env_kwargs_for(model))
    try:
        obs, _ = env.reset(seed=0)
    finally:
        env.close()
    batch = batch_of(obs)
    model.infer(batch)  # warm-up: first-call allocations are not latency
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        model.infer(batch)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def check_chunk(chunk: int, model: WorldActionModel, who: str) -> None:
    """Refuse a chunk C outside [1, H] of the WA model's reference chunk."""
    if not 1 <= chunk <= model.horizon:
        raise ConfigError(f"{who}: chunk must be between 1 and the WA model's horizon "
                          f"({model.horizon}), got {chunk}")


def torch_device() -> Any:
    """Where an algorithm trains: the GPU when there is one."""
    import torch

    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
