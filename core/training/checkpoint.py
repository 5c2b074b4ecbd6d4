"""A run's checkpoint: everything needed to continue exactly where it stopped.

``checkpoint/`` holds ``algorithm.pt`` (networks, optimizers, counters), ``wa_model.pt`` (the WA
model's weights, when the algorithm fine-tunes it), ``rng.pt`` (torch,
numpy and Python RNG states), ``replay/`` (both buffers with their write cursors) and
``state.json`` (loop counters). It is written into ``checkpoint.tmp`` and swapped in by
renames, so a run killed at any instant (kill -9 included) leaves one complete checkpoint.
"""

from __future__ import annotations

import json
import random
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from warl.core.errors import ConfigError

CHECKPOINT = "checkpoint"
WA_MODEL = "wa_model.pt"  # the WA model's weights, when the algorithm fine-tunes it


def rng_state() -> dict[str, Any]:
    import torch

    name, keys, pos, has_gauss, cached = np.random.get_state()
    numpy_state = [name, np.asarray(keys).tolist(), int(pos), int(has_gauss), float(cached)]
    return {"torch": torch.get_rng_state(), "numpy": json.dumps(numpy_state),
            "python": json.dumps(random.getstate())}


def set_rng_state(state: Mapping[str, Any]) -> None:
    import torch

    torch.set_rng_state(state["torch"])
    name, keys, pos, has_gauss, cached = json.loads(state["numpy"])
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    python = json.loads(state["python"])
    random.setstate((python[0], tuple(python[1]), python[2]))


# What an algorithm's ``state_dict`` may hold (docs/plugins.md): numpy arrays are stored as
# tensors under this marker and come back as arrays, so the safe loader reads every file.
NDARRAY = "__warl_ndarray__"
PLAIN = (str, int, float, bool, type(None), bytes)


def to_saveable(value: Any, path: str, who: str) -> Any:
    """``value`` with numpy arrays and scalars made safe for ``torch.load(weights_only=True)``;
    anything else that is not a tensor, a plain value or a container of them is refused,
    naming where it is."""
    import torch

    if isinstance(value, (torch.Tensor, *PLAIN)):
        return value
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            raise ConfigError(f"{who}: state_dict(){path} is a numpy array of Python objects; "
                              f"store numbers, strings or tensors instead")
        return {NDARRAY: torch.from_numpy(np.ascontiguousarray(value).copy())}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Mapping):
        return {k: to_saveable(v, f"{path}[{k!r}]", who) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        items = [to_saveable(v, f"{path}[{i}]", who) for i, v in enumerate(value)]
        return items if isinstance(value, list) else tuple(items)
    if isinstance(value, torch.Generator):
        raise ConfigError(f"{who}: state_dict(){path} is a torch.Generator; store "
                          f"generator.get_state() (a tensor) instead")
    raise ConfigError(f"{who}: state_dict(){path} is a {type(value).__name__}, which a "
                      f"checkpoint cannot hold; a state_dict holds tensors, numbers, strings, "
                      f"bools, None, numpy arrays and lists / tuples / dicts of them "
                      f"(docs/plugins.md)")


def from_saved(value: Any) -> Any:
    """The inverse of `to_saveable`: marked tensors back to numpy arrays."""
    if isinstance(value, Mapping):
        if set(value) == {NDARRAY}:
            return value[NDARRAY].numpy()
        return {k: from_saved(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_saved(v) for v in value]
    if isinstance(value, tuple):
        return tuple(from_saved(v) for v in value)
    return value


def save_run_state(run_dir: Path, algorithm: Any, replay: Any, counters: Mapping[str, Any],
                   who: str = "the algorithm", wa_model: Any = None) -> Path:
    """Write the checkpoint; ``wa_model`` (an algorithm that fine-tunes its WA model) is
    saved as ``wa_model.pt``."""
    import torch

    final, tmp, old = (run_dir / CHECKPOINT, run_dir / f"{CHECKPOINT}.tmp",
                       run_dir / f"{CHECKPOINT}.old")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    torch.save(to_saveable(algorithm.state_dict(), "", who), tmp / "algorithm.pt")
    if wa_model is not None:
        torch.save(wa_model.state_dict(), tmp / WA_MODEL)
    torch.save(rng_state(), tmp / "rng.pt")
    replay.save(tmp / "replay")
    (tmp / "state.json").write_text(json.dumps(dict(counters), indent=2))
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        final.rename(old)
    tmp.rename(final)
    shutil.rmtree(old, ignore_errors=True)
    return final


def checkpoint_dir(run_dir: Path) -> Path | None:
    """The complete checkpoint of ``run_dir`` (``.old`` if a swap was interrupted)."""
    for name in (CHECKPOINT, f"{CHECKPOINT}.old"):
        if (run_dir / name / "state.json").is_file():
            return run_dir / name
    return None


def load_trained(directory: Path, algorithm: Any, who: str, wa_model: Any = None) -> None:
    """Load a checkpoint folder's algorithm state, and its fine-tuned WA model's weights
    into ``wa_model`` when the checkpoint has them (what `warl eval --run` evaluates)."""
    import torch

    # Our own files: tensors, numbers and strings; the safe loader suffices.
    try:
        state = torch.load(directory / "algorithm.pt", map_location="cpu", weights_only=True)
    except Exception as exc:  # a damaged file, or one written by another program
        raise ConfigError(f"{directory / 'algorithm.pt'}: cannot read {who}'s checkpoint "
                          f"({type(exc).__name__}: {str(exc).splitlines()[0]}); start a new "
                          f"run, or resume from a copy of the run folder") from None
    algorithm.load_state_dict(from_saved(state))
    if wa_model is not None and (directory / WA_MODEL).is_file():
        wa_model.load_state_dict(torch.load(directory / WA_MODEL, map_location="cpu",
                                            weights_only=True))


def load_run_state(run_dir: Path, algorithm: Any, replay: Any, who: str = "the algorithm",
                   wa_model: Any = None) -> dict[str, Any]:
    import torch

    directory = checkpoint_dir(run_dir)
    if directory is None:
        raise ConfigError(f"{run_dir} has no checkpoint to resume from")
    load_trained(directory, algorithm, who, wa_model)
    replay.load(directory / "replay")
    set_rng_state(torch.load(directory / "rng.pt", weights_only=True))
    counters: dict[str, Any] = json.loads((directory / "state.json").read_text())
    return counters
