"""The jobs runner: asynchronous extraction of articles and batches, fair scheduling, webhooks, retention."""
