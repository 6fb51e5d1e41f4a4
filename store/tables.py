"""Imports every module that defines tables, so the migrations (and their drift test) see the whole schema."""

import streetwarden.store.audit  # noqa: F401
import streetwarden.store.camera_settings  # noqa: F401
import streetwarden.store.login_throttle  # noqa: F401
import streetwarden.store.notice_schema  # noqa: F401
import streetwarden.store.outbox_schema  # noqa: F401
import streetwarden.store.review  # noqa: F401
import streetwarden.store.schema  # noqa: F401
import streetwarden.store.shop_schema  # noqa: F401
import streetwarden.store.users  # noqa: F401
import streetwarden.store.workers.models  # noqa: F401
import streetwarden.store.model_registry.models  # noqa: F401
