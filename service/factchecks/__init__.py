"""The fact-check archive ("checked before?"): ClaimReview imported and stored; claims matched against it."""
