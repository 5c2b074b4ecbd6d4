"""`warl check` for world models: the `WorldActionModel` and `WorldModel` contracts.

The checks build a small instance from the spec's ``check_kwargs`` (for the built-in model:
untrained weights for one env), feed it synthetic batches shaped like the env's observations,
and check shapes, determinism under a seed, frozenness, batch independence, a state-dict
round trip and that a wrong input is refused rather than reshaped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from warl.core.check import Context, Skip
from warl.core.errors import ContractError, WarlError
from warl.core.spec import PluginSpec

BATCH = 3


def _batch(model: Any) -> dict[str, np.ndarray]:
    from warl.core.world_model import synthetic_observations

    return synthetic_observations(model, (BATCH,))


def _model(ctx: Context) -> Any:
    if "model" not in ctx:
        raise Skip("the model could not be built")
    return ctx["model"]


def check_make(ctx: Context) -> str:
    spec: PluginSpec = ctx["spec"]
    if not spec.check_kwargs:
        raise Skip(
            "the spec has no check_kwargs, so the model cannot be built without a checkpoint; "
            "add e.g. check_kwargs: {pretrained: false} to check it"
        )
    ctx["model"] = ctx["registry"].make(spec.id, kind="world_model", **spec.check_kwargs)
    return f"{type(ctx['model']).__name__} with {spec.check_kwargs}"


def check_interface(ctx: Context) -> str:
    from warl.core.world_model import WorldActionModel, WorldModel

    model = _model(ctx)
    roles = [name for name, proto in (("WorldActionModel", WorldActionModel),
                                       ("WorldModel", WorldModel)) if isinstance(model, proto)]
    if not roles:
        raise ContractError(
            "the object implements neither WorldActionModel (infer, seed, state_dict, env_id, "
            "observation_keys, action_dim, horizon, latent_shape, config) nor WorldModel "
            "(encode, decode, predict, train_step, ...); see warl.core.world_model"
        )
    ctx["roles"] = roles
    return " + ".join(roles)


def _wa(ctx: Context) -> Any:
    model = _model(ctx)
    if "WorldActionModel" not in ctx.get("roles", []):
        raise Skip("not a WorldActionModel")
    return model


def check_infer_shapes(ctx: Context) -> str:
    from warl.core.world_model import INTERMEDIATE_FEATURE, LATENTS_FEATURE

    model = _wa(ctx)
    out = model.infer(_batch(model), "")
    h, a = model.horizon, model.action_dim
    n, d = model.latent_shape
    if tuple(out.ref_actions.shape) != (BATCH, h, a):
        raise ContractError(
            f"ref_actions has shape {tuple(out.ref_actions.shape)}, expected (B, H, A) = "
            f"({BATCH}, {h}, {a}) from the model's horizon and action_dim"
        )
    if tuple(out.latents.shape) != (BATCH, n, d):
        raise ContractError(
            f"latents has shape {tuple(out.latents.shape)}, expected (B, N, D) = ({BATCH}, {n}, "
            f"{d}) from latent_shape"
        )
    for key in (LATENTS_FEATURE, INTERMEDIATE_FEATURE):
        value = out.features.get(key)
        if value is None or value.ndim != 3 or value.shape[0] != BATCH:
            raise ContractError(
                f"features[{key!r}] must be a (B, N, D) token tensor; got "
                f"{None if value is None else tuple(value.shape)}"
            )
    for name, value in (("ref_actions", out.ref_actions), ("latents", out.latents)):
        if not bool(value.isfinite().all()):
            raise ContractError(f"{name} has NaN or inf values")
    inter = tuple(out.features[INTERMEDIATE_FEATURE].shape[1:])
    return f"H={h} A={a} N={n} D={d}, intermediate {inter}"


def check_seeded(ctx: Context) -> str:
    model = _wa(ctx)
    batch = _batch(model)
    model.seed(7)
    first = model.infer(batch, "")
    model.seed(7)
    again = model.infer(batch, "")
    if not bool((first.ref_actions == again.ref_actions).all()):
        raise ContractError("infer after seed(s) is not reproducible: reseed all sampling noise")
    return "same seed, same reference chunks"


def check_batch_independence(ctx: Context) -> str:
    model = _wa(ctx)
    batch = _batch(model)
    whole = model.infer(batch, "").latents
    single = model.infer({k: v[1:2] for k, v in batch.items()}, "").latents
    if not np.allclose(whole[1:2].numpy(), single.numpy(), atol=1e-4):
        raise ContractError("latents of an observation depend on the rest of its batch")
    return "latents of one observation do not depend on the batch"


def check_frozen(ctx: Context) -> str:
    model = _wa(ctx)
    params = list(model.parameters()) if hasattr(model, "parameters") else []
    trainable = sum(p.numel() for p in params if p.requires_grad)
    if trainable:
        raise ContractError(
            f"{trainable} parameters require grad: a WA model is frozen by default "
            f"(requires_grad_(False)); algorithms train adapters on top of it"
        )
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model.infer(_batch(model), "")
    after = model.state_dict()
    if any(not bool((before[k] == after[k]).all()) for k in before):
        raise ContractError("infer changed the weights or buffers")
    return f"{sum(p.numel() for p in params):,} parameters, none trainable"


def check_state_dict(ctx: Context) -> str:
    model = _wa(ctx)
    batch = _batch(model)
    model.seed(3)
    expected = model.infer(batch, "").ref_actions
    model.load_state_dict({k: v.clone() for k, v in model.state_dict().items()})
    model.seed(3)
    if not bool((model.infer(batch, "").ref_actions == expected).all()):
        raise ContractError("outputs changed after load_state_dict(state_dict())")
    return f"{len(model.state_dict())} tensors round-trip"


def check_refuses_bad_input(ctx: Context) -> str:
    model = _wa(ctx)
    batch = _batch(model)
    key = model.observation_keys[0]
    cases = {
        f"missing {key!r}": {k: v for k, v in batch.items() if k != key},
        f"{key!r} without a batch axis": {**batch, key: batch[key][0]},
        f"{key!r} with a wrong size": {**batch, key: np.concatenate([batch[key]] * 2, axis=-1)},
    }
    for what, bad in cases.items():
        try:
            model.infer(bad, "")
        except WarlError:
            continue
        except Exception as exc:
            raise ContractError(
                f"a batch with {what} raised {type(exc).__name__} ({exc}); raise a WarlError "
                f"subclass (e.g. IncompatibleModelError) naming the key and both shapes"
            ) from None
        raise ContractError(f"a batch with {what} was accepted; refuse it, never reshape")
    return f"{len(cases)} malformed batches refused"


def check_world_model(ctx: Context) -> str:
    import torch

    model = _model(ctx)
    if "WorldModel" not in ctx.get("roles", []):
        raise Skip("not a WorldModel")
    obs = _batch(model)
    latents = model.encode(obs)
    n, d = model.latent_shape
    if tuple(latents.shape) != (BATCH, n, d):
        raise ContractError(f"encode gave {tuple(latents.shape)}, expected ({BATCH}, {n}, {d})")
    decoded = model.decode(latents)
    for key in model.observation_keys:
        if key not in decoded or tuple(decoded[key].shape) != obs[key].shape:
            raise ContractError(
                f"decode must give {key!r} of shape {obs[key].shape}; got "
                f"{None if key not in decoded else tuple(decoded[key].shape)}"
            )
    actions = torch.zeros(BATCH, model.horizon, model.action_dim)
    future = model.predict(latents[:, None], actions)
    k = model.prediction_steps
    if tuple(future.shape) != (BATCH, k, n, d):
        raise ContractError(
            f"predict gave {tuple(future.shape)}, expected ({BATCH}, {k}, {n}, {d})"
        )
    batch = {"obs": obs, "actions": actions.numpy(),
             "future": {key: np.stack([v] * k, axis=1) for key, v in obs.items()}}
    losses = model.train_step(batch)
    if not losses or not all(np.isfinite(v) for v in losses.values()):
        raise ContractError(f"train_step must return finite losses, got {losses}")
    return f"encode/decode/predict shapes ok, train_step losses {sorted(losses)}"


WORLD_MODEL_CHECKS: list[tuple[str, Callable[[Context], str]]] = [
    ("make", check_make),
    ("interface", check_interface),
    ("infer_shapes", check_infer_shapes),
    ("seeded_sampling", check_seeded),
    ("batch_independence", check_batch_independence),
    ("frozen", check_frozen),
    ("state_dict_round_trip", check_state_dict),
    ("refuses_bad_input", check_refuses_bad_input),
    ("world_model", check_world_model),  # last: train_step changes the weights
]
