"""The worker fleet as admins see it: nodes, their cameras, load, lag and heartbeats."""
