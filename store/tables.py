"""Imports every module that defines tables, so `create_all` sees the whole schema."""

import store.notice_schema  # noqa: F401
import store.outbox_schema  # noqa: F401
import store.schema  # noqa: F401
import store.shop_schema  # noqa: F401
