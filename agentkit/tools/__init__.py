"""Versioned tool contracts and the registry that enforces them at the boundary."""
