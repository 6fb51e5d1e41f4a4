"""Installs the design's stage folders under the one ``streetwarden.`` namespace.

The checkout keeps one top-level folder per stage of the flow (``camera_adapters/ models/
detectors/ pipeline/ store/ api/ review_ui/ datasets/``), but generic names such as ``models`` or
``datasets`` must not land in site-packages, where they would collide with other distributions.
setuptools' ``package_dir`` maps each folder to ``streetwarden.<stage>``; the sub-packages are found
by walking each folder, so a new sub-package can never be left out of the wheel again
(``tests/test_packaging.py`` builds the wheel and checks every source file is in it). An editable
install (``pip install -e .``) uses the same mapping.
"""

from setuptools import find_packages, setup

STAGES = ("camera_adapters", "models", "detectors", "pipeline", "store", "api", "review_ui", "datasets")

package_dir = {"streetwarden": "streetwarden"}
packages = ["streetwarden"]
for stage in STAGES:
    package_dir[f"streetwarden.{stage}"] = stage
    packages.append(f"streetwarden.{stage}")
    packages += [f"streetwarden.{stage}.{sub}" for sub in find_packages(stage)]

setup(
    package_dir=package_dir,
    packages=packages,
    package_data={
        "streetwarden.models": ["cards/*.yaml"],
        "streetwarden.store": ["migrations/*.py", "migrations/*.mako", "migrations/versions/*.py"],
        "streetwarden.review_ui": ["static/**/*", "templates/**/*"],
    },
)
