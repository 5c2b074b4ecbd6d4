"""HG-DAgger: human-gated interactive imitation (a baseline)."""
