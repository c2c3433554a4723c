"""Versioned prompts: the registry and its lock, rendering, the lifecycle, and the ``[S<n>]`` sentence lines."""
