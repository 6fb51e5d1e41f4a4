"""A small but complete world behind a real uvicorn server, for the bad-input and fuzz tests: the
enforcement test camera (three zones, a registered shop), every role's account, candidates with real
evidence cut from vtest.avi, claimed and decided ones, notices, a case and webhook deliveries."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import update

from tests.enforcement_support import SECRET, make_settings, open_db, raise_candidate, vtest_frame
from tests.review_support import LiveServer, add_users
from streetwarden.store.db import Database
from streetwarden.store.notices import issue_from_decision
from streetwarden.store.outbox_schema import OutboxMessage
from streetwarden.store.schema import Candidate

HOOK_SECRET_ENV = "SW_API_WORLD_HOOK_SECRET"


@dataclass
class World:
    server: LiveServer
    db: Database
    candidates: list[int]
    notices: list[str]
    cases: list[str]


@contextmanager
def api_world(root: Path, vtest: Path) -> Iterator[World]:
    """Seed a fresh SQLite database under `root` and serve it until the block ends."""
    os.environ.setdefault(HOOK_SECRET_ENV, SECRET)
    # deliveries are queued for this receiver but nothing sends them (no worker): they stay inspectable
    settings = make_settings(root, webhooks={"url": "http://127.0.0.1:9/hook", "secret_env": HOOK_SECRET_ENV})
    db = open_db(settings)
    add_users(db)
    frame = vtest_frame(vtest)
    ids = [raise_candidate(db, settings, frame, ts=100.0 * (i + 1), box=(651 - 3 * i, 42, 724, 99)) for i in range(6)]
    ids.append(raise_candidate(db, settings, frame, zone_id="front-1", violation="out_of_shop", label="chair",
                               box=(60, 460, 180, 560), ts=900.0))
    notices, cases = [], []
    with db.session() as s:
        for cid, kind in zip(ids[:3], ("warn", "warn", "case")):
            row = issue_from_decision(s, s.get(Candidate, cid), kind, "rev1", settings)
            (notices if kind == "warn" else cases).append(row.ref)
        # one delivery given up on, so redelivery has something to do
        s.execute(update(OutboxMessage).where(OutboxMessage.id == 1).values(status="dead", attempts=8))
    with LiveServer(settings, db) as server:
        yield World(server, db, ids, notices, cases)
