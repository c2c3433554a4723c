"""What persists between requests, one room per concern: the reply cache, the job stores, the limits and quotas."""
