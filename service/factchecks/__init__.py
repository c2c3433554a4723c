"""Fact-check matching: which of a desk's earlier fact-checks a claim repeats (hybrid retrieval, re-ranked)."""
