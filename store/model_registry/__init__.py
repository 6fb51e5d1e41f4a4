"""The model registry: which model versions exist, which one runs (active) or watches (shadow) on
which cameras, and what the shadow models would have raised."""
