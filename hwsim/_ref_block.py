"""Reference oracle part (to be written)."""
__all__: list = []
