"""Per-team API tokens: created by admins in chat, shown once, stored hashed, read or write scope."""
