"""Built-in environment plugins (each imports its simulator only when an env is made)."""
