"""What `serve` runs beside the web server, so one command does the whole job: the camera workers
(which also re-check notices at their deadline: that needs the cameras' frames) and the webhook
deliverer. Each can be switched off for scale-out (`--no-worker`, `--no-webhooks`) and run
elsewhere (`streetwarden run`, `streetwarden webhooks`); each start logs one line.
"""

from __future__ import annotations

import logging
from typing import Any

from streetwarden.config import Settings
from streetwarden.logs import event
from streetwarden.redact import mask_url
from streetwarden.store.db import Database

log = logging.getLogger("streetwarden.serve")


class BackgroundServices:
    """Starts and stops the camera workers and the webhook deliverer of one `serve` process."""

    def __init__(self, settings: Settings, db: Database, *, cameras: bool = True, webhooks: bool = True) -> None:
        self.settings, self.db = settings, db
        self.want_cameras, self.want_webhooks = cameras, webhooks
        self.background: Any = None  # pipeline.background.BackgroundWorker
        self.deliverer: Any = None  # pipeline.webhooks.WebhookDeliverer

    @property
    def worker(self) -> Any:
        """The camera worker (for health and metrics), or None when this process runs no cameras."""
        return self.background.worker if self.background is not None else None

    def start(self) -> "BackgroundServices":
        self._start_cameras()
        self._start_webhooks()
        return self

    def _start_cameras(self) -> None:
        if not self.want_cameras:
            from streetwarden.store.cameras import sync_cameras

            with self.db.session() as s:  # the pages still list the configured cameras
                sync_cameras(s, self.settings)
            event(log, "component_off", component="camera_workers", reason="--no-worker")
            event(log, "component_off", component="notice_rechecks", reason="--no-worker (re-checks need the cameras' frames)")
            return
        from streetwarden.pipeline.background import BackgroundWorker
        from streetwarden.pipeline.node import node_leases

        # this node's share of the cameras, by lease (all of them while it is the only node)
        self.background = BackgroundWorker(self.settings, self.db, leases=node_leases(self.settings, self.db)).start()
        runners = self.background.worker.runners
        event(log, "component_started", component="camera_workers", cameras=[r.cam.id for r in runners])
        event(log, "component_started", component="notice_rechecks",
              every_seconds=self.settings.notices.check_every_seconds)

    def _start_webhooks(self) -> None:
        hooks = self.settings.webhooks
        if not hooks.url or not self.want_webhooks:
            event(log, "component_off", component="webhooks",
                  reason="webhooks.url is not set" if not hooks.url else "--no-webhooks")
            return
        from streetwarden.pipeline.webhooks import WebhookDeliverer

        self.deliverer = WebhookDeliverer(self.db, hooks).start()
        event(log, "component_started", component="webhooks", url=mask_url(hooks.url),
              worker_id=self.deliverer.worker_id, poll_seconds=hooks.poll_seconds)

    def stop(self) -> None:
        """Stop taking new work; frames in flight and the delivery being sent are finished first."""
        if self.deliverer is not None:
            self.deliverer.stop()
            event(log, "component_stopped", component="webhooks", **self.deliverer.stats)
        if self.background is not None:
            self.background.stop()
            if self.background.worker is not None and self.background.worker.leases is not None:
                self.background.worker.leases.stop(hand_over=True)  # other nodes take the cameras now, not after the lease time
            stats = self.background.worker.stats if self.background.worker else {}
            event(log, "component_stopped", component="camera_workers", **stats)
