"""What persists between requests: the reply cache."""
