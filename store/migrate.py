"""Schema migrations (Alembic): every process brings the database to the newest revision at start.

Why: ``create_all`` only adds missing tables and never changes one that exists, so a city that
upgrades StreetWarden would run new code on an old schema. Every schema change ships as a revision
in ``store/migrations/versions``; ``upgrade`` applies the missing ones, one process at a time (a
transaction-scoped PostgreSQL advisory lock when many workers start together, a lock file beside a
SQLite database). Databases made before migrations existed have no ``alembic_version`` table: the
baseline revision creates only the tables they lack, so they are adopted as they are.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

from streetwarden.filelock import exclusive
from streetwarden.logs import event

log = logging.getLogger("streetwarden.store")
logging.getLogger("alembic").setLevel(logging.WARNING)  # our schema_upgraded event says what changed

MIGRATIONS = Path(__file__).with_name("migrations")
ADVISORY_LOCK_KEY = 0x5357_4D49  # "SWMI": one schema upgrade at a time per PostgreSQL database


class SchemaError(RuntimeError):
    """The database's schema cannot be brought to this version's; the message says what to do."""


@dataclass(frozen=True)
class SchemaStatus:
    current: str | None  # None: no alembic_version table (empty, or made before migrations)
    head: str
    pending: tuple[str, ...]  # revisions upgrade would apply, oldest first

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head


def _config(connection: Connection | None = None) -> Config:
    cfg = Config()  # no alembic.ini: everything is set here
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def _head(script: ScriptDirectory) -> str:
    found = script.get_current_head()
    if found is None:  # pragma: no cover - the baseline always ships
        raise SchemaError(f"no migrations found in {MIGRATIONS} (broken installation: reinstall StreetWarden)")
    return found


def head() -> str:
    """The newest revision this version of StreetWarden knows."""
    return _head(ScriptDirectory.from_config(_config()))


def _status(connection: Connection) -> SchemaStatus:
    script = ScriptDirectory.from_config(_config())
    current = MigrationContext.configure(connection).get_current_revision()
    top = _head(script)
    if current is not None and current not in {s.revision for s in script.walk_revisions()}:
        raise SchemaError(
            f"the database schema is at revision {current!r}, which this StreetWarden (newest revision {top!r}) "
            "does not know: a newer StreetWarden has upgraded it; run that version here too"
        )
    pending = [s.revision for s in script.iterate_revisions(top, current)]
    return SchemaStatus(current, top, tuple(reversed(pending)))


def status(engine: Engine) -> SchemaStatus:
    """Where the database stands against this version's migrations (reads only)."""
    with engine.connect() as conn:
        return _status(conn)


@contextmanager
def _file_lock(engine: Engine) -> Iterator[None]:
    """SQLite: serialise processes upgrading the same file (PostgreSQL locks inside the transaction)."""
    db_file = engine.url.database
    if engine.dialect.name != "sqlite" or not db_file or db_file == ":memory:":
        yield
        return
    with exclusive(f"{db_file}.migrate-lock"):
        yield


def upgrade(engine: Engine) -> SchemaStatus:
    """Apply every missing revision in one transaction; returns the status before the upgrade."""
    with _file_lock(engine), engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
        before = _status(conn)
        if before.pending:
            command.upgrade(_config(conn), "head")
            event(log, "schema_upgraded", revision_from=before.current, revision_to=before.head,
                  applied=len(before.pending))
    return before
