"""The learner side of an env served by `warl serve` (`remote/*` ids)."""
