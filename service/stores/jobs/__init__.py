"""The job stores: jobs, their articles' queue, results and webhooks, in SQLite or on Redis, and ``open_job_store``."""
