"""A run's checkpoint: everything needed to continue exactly where it stopped.

``checkpoint/`` holds ``algorithm.pt`` (networks, optimizers, counters), ``rng.pt`` (torch,
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


def save_run_state(run_dir: Path, algorithm: Any, replay: Any, counters: Mapping[str, Any]
                   ) -> Path:
    import torch

    final, tmp, old = (run_dir / CHECKPOINT, run_dir / f"{CHECKPOINT}.tmp",
                       run_dir / f"{CHECKPOINT}.old")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    torch.save(algorithm.state_dict(), tmp / "algorithm.pt")
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


def load_run_state(run_dir: Path, algorithm: Any, replay: Any) -> dict[str, Any]:
    import torch

    directory = checkpoint_dir(run_dir)
    if directory is None:
        raise ConfigError(f"{run_dir} has no checkpoint to resume from")
    # Our own files: tensors, numbers and strings; the safe loader suffices.
    algorithm.load_state_dict(torch.load(directory / "algorithm.pt", map_location="cpu",
                                         weights_only=True))
    replay.load(directory / "replay")
    set_rng_state(torch.load(directory / "rng.pt", weights_only=True))
    counters: dict[str, Any] = json.loads((directory / "state.json").read_text())
    return counters
