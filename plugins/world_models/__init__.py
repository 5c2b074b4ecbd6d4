"""Built-in world-action model and world model plugins."""
