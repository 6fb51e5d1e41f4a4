"""Cameras, their latest snapshot and their zones (the polygon editor's API)."""
