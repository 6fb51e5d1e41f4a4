"""What every request handler needs: the settings, the database and the process's secret."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request

from store.db import Database
from streetwarden.config import Settings


@dataclass
class AppContext:
    settings: Settings
    db: Database
    secret: str
    worker: Any | None = None  # pipeline.worker.Worker when `serve` runs the cameras in this process
    started_at: float = field(default_factory=time.time)


def get_ctx(request: Request) -> AppContext:
    return request.app.state.ctx


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None
