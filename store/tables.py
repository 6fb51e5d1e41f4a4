"""Imports every module that defines tables, so the migrations (and their drift test) see the whole schema."""

import store.audit  # noqa: F401
import store.camera_settings  # noqa: F401
import store.notice_schema  # noqa: F401
import store.outbox_schema  # noqa: F401
import store.review  # noqa: F401
import store.schema  # noqa: F401
import store.shop_schema  # noqa: F401
import store.users  # noqa: F401
