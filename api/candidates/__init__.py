"""The review queue: listing, claiming (leases) and the evidence files of candidates."""
