"""A worker-only node (`streetwarden worker`): cameras by lease, webhooks, a health endpoint.

Start: upgrade the schema (advisory lock), refuse a second worker on SQLite, register, take a share
of the cameras. SIGTERM: stop the cameras, store their last events, then free every lease at once
so the other nodes take over within a heartbeat instead of a lease time. The health endpoint
(/healthz live, /readyz heartbeat current, /metrics Prometheus) is what Kubernetes probes.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from streetwarden.pipeline.leases import LeaseKeeper
from streetwarden.store.db import Database
from streetwarden.store.workers import service as nodes
from streetwarden.config import ConfigError, Settings
from streetwarden.logs import event

log = logging.getLogger("streetwarden.node")


class SingleNodeDatabase(ConfigError):
    """A second worker on SQLite: the message says PostgreSQL is needed."""


def refuse_second_sqlite_worker(db: Database, keeper: LeaseKeeper) -> None:
    """SQLite is the one-machine default: a second worker would only double the work, so say so."""
    if not db.url.startswith("sqlite"):
        return
    with db.session() as s:
        other = nodes.other_live_node(s, keeper.node.id, time.time())
    if other is None:
        return
    if other.host == socket.gethostname() and not _pid_alive(other.pid):
        return  # a crashed worker of this machine: its row only has not expired yet
    raise SingleNodeDatabase(
        f"another worker ({other.id} on {other.host}) already runs against this SQLite database: more than one "
        "worker needs PostgreSQL (set `database: postgresql+psycopg://…` in the config; see docs/deploy.md)")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def node_leases(settings: Settings, db: Database) -> LeaseKeeper:
    """The lease keeper of this process (for `serve` as well as `worker`), checked for SQLite."""
    keeper = LeaseKeeper(db, settings, cameras=lambda s: {})
    refuse_second_sqlite_worker(db, keeper)
    return keeper


class HealthServer:
    """/healthz, /readyz and /metrics of a worker node, on a port of its own (no web framework)."""

    def __init__(self, host: str, port: int, worker, keeper: LeaseKeeper) -> None:  # type: ignore[no-untyped-def]
        from streetwarden.pipeline.metrics import CONTENT_TYPE, metrics_text

        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                path = self.path.split("?", 1)[0]
                if path == "/metrics":
                    self._send(200, metrics_text(worker), CONTENT_TYPE)
                elif path in ("/healthz", "/readyz"):
                    ok = outer.alive() if path == "/healthz" else keeper.healthy()
                    body = {"ok": ok, "node": keeper.node.id, "cameras": sorted(keeper.owned()), "load": keeper.load(),
                            "capacity": keeper.node.capacity, "heartbeat_failures": keeper.failures}
                    self._send(200 if ok else 503, json.dumps(body).encode(), "application/json")
                else:
                    self._send(404, b'{"detail": "not found: try /healthz, /readyz or /metrics"}', "application/json")

            def _send(self, code: int, body: bytes, ctype: str) -> None:
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:  # one line per event is ours, not per request
                pass

        self.alive = lambda: True
        self.httpd = ThreadingHTTPServer((host, port), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="health", daemon=True)

    def start(self) -> "HealthServer":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def run_node(settings: Settings) -> dict[str, int]:
    """Run a worker-only node until SIGTERM/SIGINT; returns the worker's counters."""
    from streetwarden.pipeline.worker import Worker

    db = Database(settings.database_url)
    db.upgrade()
    keeper = node_leases(settings, db)
    worker = Worker(settings, db, leases=keeper)
    keeper.start()
    hooks = None
    if settings.webhooks.url:  # outbox claims are leases too: any number of nodes, each message once
        from streetwarden.pipeline.webhooks import WebhookDeliverer

        hooks = WebhookDeliverer(db, settings.webhooks, worker_id=keeper.node.id).start()
    health = None
    if settings.cluster.health_port:
        health = HealthServer(settings.cluster.health_host, settings.cluster.health_port, worker, keeper).start()
    signal.signal(signal.SIGTERM, lambda *_: worker.stop())
    signal.signal(signal.SIGINT, lambda *_: worker.stop())
    event(log, "node_started", node=keeper.node.id, host=keeper.node.host, capacity=keeper.node.capacity,
          cameras=sorted(keeper.owned()), lease_seconds=keeper.lease, version=keeper.node.version,
          health=f"http://{settings.cluster.health_host}:{health.port}/healthz" if health else None)
    try:
        stats = worker.run()  # returns after stop(): cameras stopped, their last events stored
    finally:
        freed = keeper.stop(hand_over=True)
        if hooks is not None:
            hooks.stop()
        if health is not None:
            health.stop()
    event(log, "node_stopped", node=keeper.node.id, handed_over=freed, **stats)
    return stats
