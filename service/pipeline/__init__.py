"""Orchestration: build the pipeline, extract an article, answer one chunk (ask, repair, split, fall back)."""
