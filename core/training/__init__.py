"""The training loop shared by every algorithm: collect chunk transitions, store, update,
evaluate, checkpoint, log (see `warl.core.training.loop.train`)."""
