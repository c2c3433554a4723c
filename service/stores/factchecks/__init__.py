"""The fact-check archive's store: SQLite under ``data_dir``, or Redis shared by every replica; ``open_*`` beside it."""
