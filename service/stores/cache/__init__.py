"""The reply cache: its interface and keys, on disk (diskcache) or on Redis, and ``open_reply_cache``."""
