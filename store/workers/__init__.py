"""Worker nodes and camera leases: which node runs which camera when many share one PostgreSQL."""
