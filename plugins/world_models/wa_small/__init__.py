"""``warl/wa-small``: the built-in world-action model, small enough to train on a laptop CPU."""
