"""Webhook delivery: a background worker that sends outbox messages to the case-management system.

Each message is POSTed as canonical JSON with an `Idempotency-Key` (the same on every retry) and an
`X-StreetWarden-Signature: sha256=<hex>` HMAC of the body. A failure (refused connection, timeout,
non-2xx) is retried with exponential backoff; after `max_attempts` the message is dead-lettered and
waits for a redelivery. State lives only in the database, so a restart loses nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable

import httpx

from streetwarden.store.db import Database
from streetwarden.store.outbox import claim_due, mark_delivered, mark_failed, release
from streetwarden.store.outbox_schema import OutboxMessage
from streetwarden.store.workers.service import db_now
from streetwarden.config import ConfigError, WebhooksConfig
from streetwarden.logs import event

log = logging.getLogger("streetwarden.webhooks")
SIGNATURE_HEADER = "X-StreetWarden-Signature"
EVENT_HEADER = "X-StreetWarden-Event"
ATTEMPT_HEADER = "X-StreetWarden-Attempt"


def body_bytes(payload: dict) -> bytes:
    """The exact bytes sent (and signed): compact JSON, keys sorted, UTF-8."""
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def sign(secret: bytes, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def verify(secret: bytes, body: bytes, header: str | None) -> bool:
    """What a receiver does: recompute the HMAC over the raw body and compare in constant time."""
    return bool(header) and hmac.compare_digest(sign(secret, body), header or "")


def webhook_secret(hooks: WebhooksConfig) -> bytes:
    try:
        return hooks.secret()
    except ValueError as err:
        raise ConfigError(f"webhooks.{err}") from None


class WebhookDeliverer:
    """Delivers due outbox messages; several may run against one database without double sending."""

    def __init__(self, db: Database, hooks: WebhooksConfig, worker_id: str | None = None,
                 clock: Callable[[], float] | None = None, transport: httpx.BaseTransport | None = None) -> None:
        if not hooks.url:
            raise ConfigError("webhooks.url: not set; there is nowhere to deliver webhooks")
        self.db = db
        self.hooks = hooks
        self.secret = webhook_secret(hooks)
        self.worker_id = worker_id or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.clock = clock  # None: the database server's clock, the one every node shares (claims are leases)
        self.client = httpx.Client(timeout=hooks.timeout_seconds, transport=transport,
                                   headers={"User-Agent": "StreetWarden-Webhooks/1"})
        self.stats = {"delivered": 0, "failed": 0, "dead": 0}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self, limit: int = 20) -> int:
        """Send every message due now (up to `limit`); returns how many were attempted."""
        lease = self.hooks.timeout_seconds + 30.0
        with self.db.session() as s:
            ids = claim_due(s, self.worker_id, self._now(s), lease, limit)
        for n, mid in enumerate(ids):
            if self._stop.is_set():
                with self.db.session() as s:
                    release(s, ids[n:], self.worker_id)
                break
            self._deliver(mid)
        return len(ids)

    def _now(self, s) -> float:  # type: ignore[no-untyped-def]
        """Claims and retry times on one clock for all nodes: a node whose clock runs ahead must not
        take a message another still holds, nor send one before its undo window has closed."""
        return self.clock() if self.clock is not None else db_now(s)

    def _deliver(self, mid: int) -> None:
        with self.db.session() as s:
            row = s.get(OutboxMessage, mid)
            if row is None or row.status != "pending" or row.claimed_by != self.worker_id:
                return
            payload, key, kind, attempt = row.payload, row.idempotency_key, row.event_type, row.attempts + 1
        body = body_bytes(payload)
        headers = {"Content-Type": "application/json", "Idempotency-Key": key, EVENT_HEADER: kind,
                   ATTEMPT_HEADER: str(attempt), SIGNATURE_HEADER: sign(self.secret, body)}
        code: int | None = None
        try:
            resp = self.client.post(self.hooks.url or "", content=body, headers=headers)
            code = resp.status_code
            error = None if 200 <= code < 300 else f"HTTP {code}: {resp.text[:200]}"
        except httpx.HTTPError as err:
            error = f"{type(err).__name__}: {err}"
        with self.db.session() as s:
            if error is None:
                mark_delivered(s, mid, code or 200, self._now(s))
                self.stats["delivered"] += 1
                event(log, "webhook_delivered", id=mid, type=kind, key=key, attempt=attempt, status=code)
                return
            status = mark_failed(s, mid, error, code, self._now(s), self.hooks)
        self.stats["failed"] += 1
        if status == "dead":
            self.stats["dead"] += 1
            event(log, "webhook_dead", logging.ERROR, id=mid, type=kind, key=key, attempt=attempt, error=error)
        else:
            event(log, "webhook_retry", logging.WARNING, id=mid, type=kind, key=key, attempt=attempt, error=error)

    # -- background thread ------------------------------------------------------------------------
    def start(self) -> "WebhookDeliverer":
        self._thread = threading.Thread(target=self._loop, name="webhooks", daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                busy = self.run_once()
            except Exception as err:  # a database hiccup: log, wait, go on
                event(log, "webhook_worker_error", logging.ERROR, error=str(err))
                busy = 0
            if not busy:
                self._stop.wait(self.hooks.poll_seconds)

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self.client.close()
