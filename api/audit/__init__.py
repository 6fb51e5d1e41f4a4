"""The audit log, read-only over the API (supervisors and admins)."""
