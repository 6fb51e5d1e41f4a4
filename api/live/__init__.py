"""Live updates for the review pages (server-sent events)."""
