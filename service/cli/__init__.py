"""The ``claims`` command and its subcommands (serve, extract, prompts, eval)."""
