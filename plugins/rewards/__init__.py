"""Built-in reward model plugins."""
