"""Learners an algorithm composes (never inherits): each takes networks and rules and owns its
targets, optimizers and update."""
