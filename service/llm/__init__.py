"""The only door to litellm: the client, structured-output modes, retry policy, secrets, error translation."""
