"""Limits: per-model rate limits and per-key quotas, in memory or shared on Redis, and their ``open_*`` factories."""
