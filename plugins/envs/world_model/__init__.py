"""`world-model/imagined`: an env that steps in a world model's imagination."""
