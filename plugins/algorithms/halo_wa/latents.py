"""Where the adapter's latent memory comes from (HALO-WA table 2, "latent source").

- ``latents``: the WA latent tokens Z (the method).
- ``intermediate``: the WA model's intermediate feature tokens.
- ``raw_image``: the camera image through a small trainable CNN, no WA features at all.
- ``none``: no memory; the adapter sees only the state and the reference chunk.

`memory_of` picks the array stored in replay; `ImageTokens` turns a stored image into tokens.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from warl.core.envs.contract import RGB_PREFIX
from warl.core.errors import ContractError
from warl.core.world_model import INTERMEDIATE_FEATURE, LATENTS_FEATURE, WAOutput

IMAGE_TOKEN_DIM = 32


def image_key(observation_keys: Any) -> str:
    """The first camera key (``rgb_<camera>``) of an observation layout."""
    for key in observation_keys:
        if str(key).startswith(RGB_PREFIX):
            return str(key)
    raise ContractError(
        "halo-wa latent_source=raw_image needs a camera observation (rgb_<camera>); the env "
        "gives none. Use a WA model with an image input or another latent_source."
    )


def memory_of(source: str, observation: Mapping[str, Any], wa_output: WAOutput,
              camera: str | None) -> np.ndarray | None:
    """The un-batched memory input of one observation for ``source`` (None for ``none``)."""
    if source == "none":
        return None
    if source == "raw_image":
        assert camera is not None
        return np.asarray(observation[camera], dtype=np.uint8)
    key = LATENTS_FEATURE if source == "latents" else INTERMEDIATE_FEATURE
    feature = wa_output.latents if source == "latents" else wa_output.features.get(key)
    if feature is None:
        raise ContractError(f"the WA model's output has no {key!r} feature for latent_source")
    return feature[0].detach().cpu().numpy().astype(np.float32)


class ImageTokens(nn.Module):
    """uint8 (B, H, W, 3) -> (B, 64, 32) tokens: a 4-layer CNN down to an 8x8 grid."""

    def __init__(self, image_size: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels, size = 3, image_size
        while size > 8:
            layers += [nn.Conv2d(channels, IMAGE_TOKEN_DIM, 3, stride=2, padding=1), nn.GELU()]
            channels, size = IMAGE_TOKEN_DIM, (size + 1) // 2
        layers.append(nn.Conv2d(channels, IMAGE_TOKEN_DIM, 3, padding=1))
        self.net = nn.Sequential(*layers)
        self.tokens = size * size

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x = image.permute(0, 3, 1, 2).float() / 127.5 - 1.0
        return self.net(x).flatten(2).transpose(1, 2)
