"""Imports every module that defines tables, so `create_all` sees the whole schema."""

import store.camera_settings  # noqa: F401
import store.schema  # noqa: F401
