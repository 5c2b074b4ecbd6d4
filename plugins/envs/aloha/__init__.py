"""gym-aloha's bimanual ViperX tasks as warl envs: ``aloha/transfer-cube``, ``aloha/insertion``."""
