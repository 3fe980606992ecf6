"""One place per loss: its updates, its objective, its statistics."""
