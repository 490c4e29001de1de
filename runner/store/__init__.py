"""The data directory: atomic writes and the layout under it."""
