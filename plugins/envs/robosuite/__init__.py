"""robosuite 1.5 tasks (MuJoCo) as warl envs: ``robosuite/<Task>``."""
