"""The reviewers' web queue: plain HTML/CSS/JS in static/, served by api/ (no build step)."""

from pathlib import Path

STATIC_DIR = Path(__file__).resolve().parent / "static"
