"""StreetWarden: the kernel every stage may use, and the namespace all stages install under.

An installed wheel holds the stages inside this package (``streetwarden/models``, …: see setup.py).
In a source checkout they are folders beside it, so the checkout's root is added to this package's
search path: tests, benchmarks and worktrees then always run the stages of *their own* checkout,
whichever checkout an editable install points at.
"""

from pathlib import Path as _Path

_root = _Path(__file__).resolve().parent.parent
if (_root / "setup.py").is_file() and (_root / "camera_adapters" / "__init__.py").is_file():
    __path__.append(str(_root))  # noqa: F821 - a package's __path__
del _Path, _root
