"""Block formats (MX, NVFP4, BFP) and codebooks (NF4): placeholder until implemented."""
NAMES: list[str] = []


def parse(name: str):
    return None


def from_dict(kind: str, d: dict):
    from .errors import FormatError

    raise FormatError(f"unknown format kind {kind!r}")
