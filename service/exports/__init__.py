"""What a desk takes the claims in besides JSON: schema.org ClaimReview (JSON-LD) and CSV."""
