"""GRPO on a WA model: chunk-level group relative policy optimisation of a Gaussian head over
the frozen WA model's reference chunk (WoVR's GRPO-online baseline, on the real simulator)."""
