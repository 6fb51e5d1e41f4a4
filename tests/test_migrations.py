"""Schema migrations on SQLite and a real PostgreSQL: the migrations build exactly the schema the
code declares, old databases are adopted without losing rows, many processes upgrading at once
do not collide, a pending revision is applied, and a database from a newer version is refused."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from streetwarden.store import migrate as store_migrate
import streetwarden.store.tables  # noqa: F401 - every table on Base.metadata
from streetwarden.store.db import Database
from streetwarden.store.migrate import SchemaError, head, status, upgrade
from streetwarden.store.schema import Base, Camera

REPO = Path(__file__).resolve().parents[1]


def drift(url: str) -> list:
    """Differences between the database and the tables the code declares (empty: none)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    finally:
        engine.dispose()


def revision(url: str) -> list[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [r[0] for r in conn.execute(text("SELECT version_num FROM alembic_version"))]
    finally:
        engine.dispose()


REVISIONS = ("0001", "0002", "0003", "0004", "0005", "0006", "0007", "0008")  # every shipped revision, oldest first


def assert_audit_log_append_only(url: str) -> None:
    """The database itself refuses to change history: UPDATE, DELETE, SQLite's REPLACE (delete +
    insert, which the delete trigger does not see), upserts and PostgreSQL's TRUNCATE."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO audit_log (at, action, details) VALUES (1.0, 'auth.token', '{}')"))
            row_id = conn.execute(text("SELECT max(id) FROM audit_log")).scalar_one()
        rewrites = ["UPDATE audit_log SET action = 'x'", "DELETE FROM audit_log",
                    "INSERT INTO audit_log (id, at, action, details) VALUES (:id, 2.0, 'forged', '{}') "
                    "ON CONFLICT (id) DO UPDATE SET action = 'forged'"]
        if engine.dialect.name == "sqlite":
            rewrites += ["REPLACE INTO audit_log (id, at, action, details) VALUES (:id, 2.0, 'forged', '{}')",
                         "INSERT OR REPLACE INTO audit_log (id, at, action, details) VALUES (:id, 2.0, 'forged', '{}')"]
        else:
            rewrites += ["TRUNCATE audit_log"]
        for sql in rewrites:
            with pytest.raises(Exception, match="append-only"):
                with engine.begin() as conn:
                    conn.execute(text(sql), {"id": row_id})
        with engine.connect() as conn:
            assert conn.execute(text("SELECT id, action FROM audit_log WHERE id = :id"), {"id": row_id}).all() == \
                [(row_id, "auth.token")]
        with engine.begin() as conn:  # appending still works, with or without an explicit new id
            conn.execute(text("INSERT INTO audit_log (at, action, details) VALUES (3.0, 'auth.login', '{}')"))
            conn.execute(text("INSERT INTO audit_log (id, at, action, details) VALUES (:id, 4.0, 'auth.login', '{}')"),
                         {"id": row_id + 100})
    finally:
        engine.dispose()


def config_file(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "sw.yaml"
    path.write_text(yaml.safe_dump({"database": url, "storage": str(tmp_path / "data"),
                                    "models": {"default": {"path": "yolox_nano_coco_416.onnx"}}, "cameras": []}))
    return path


def db_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "streetwarden", "db", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=120)


def test_migrations_build_the_schema_the_code_declares(database_url):
    db = Database(database_url)
    assert head() == REVISIONS[-1]
    assert status(db.engine).pending == REVISIONS
    db.upgrade()
    assert drift(database_url) == []
    assert revision(database_url) == [head()]
    assert status(db.engine).up_to_date
    db.upgrade()  # nothing left to do: same revision, no error
    assert revision(database_url) == [head()]
    assert_audit_log_append_only(database_url)


def test_a_database_made_before_migrations_is_adopted_with_its_rows(database_url):
    engine = create_engine(database_url)
    Base.metadata.create_all(engine)  # how every earlier version made its database (the triggers aside)
    with engine.begin() as conn:
        conn.execute(Camera.__table__.insert().values(id="west-gate", name="西门", source_masked="", analysis_fps=2,
                                                      enabled=True, zones_version=3, updated_at=1.0))
        conn.execute(text("DROP TABLE shop_zones"))  # a version older still, before shops had zones
    engine.dispose()
    assert status(Database(database_url).engine).current is None
    Database(database_url).upgrade()
    assert revision(database_url) == [head()]
    assert drift(database_url) == []  # the missing table is there, nothing else changed
    engine = create_engine(database_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT name, zones_version FROM cameras")).all() == [("西门", 3)]
    engine.dispose()
    assert_audit_log_append_only(database_url)  # an adopted database gets the guard too


def test_many_processes_upgrading_one_database_at_once(database_url, tmp_path):
    """Scale-out workers all start together; without the lock concurrent CREATE TABLEs collide."""
    config = config_file(tmp_path, database_url)
    procs = [subprocess.Popen([sys.executable, "-m", "streetwarden", "db", "upgrade", "--config", str(config), "--json"],
                              cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(4)]
    results = [p.communicate(timeout=180) + (p.returncode,) for p in procs]
    assert [rc for _, _, rc in results] == [0, 0, 0, 0], [err[-1500:] for _, err, _ in results]
    applied = [json.loads(out)["applied"] for out, _, _ in results]
    assert sorted(applied, key=len) == [[], [], [], list(REVISIONS)]  # exactly one process did the work
    assert revision(database_url) == [head()] and drift(database_url) == []


def test_status_and_upgrade_from_the_command_line(tmp_path):
    config = config_file(tmp_path, f"sqlite:///{tmp_path / 'sw.db'}")
    before = db_cli("status", "--config", str(config), "--json")
    assert before.returncode == 0, before.stderr
    assert json.loads(before.stdout) == {"current": None, "head": head(), "pending": list(REVISIONS), "up_to_date": False}
    text_status = db_cli("status", "--config", str(config))
    assert "streetwarden db upgrade --config" in text_status.stdout  # says what to do next
    up = db_cli("upgrade", "--config", str(config))
    assert up.returncode == 0 and f"→ {head()}" in up.stdout, up.stderr
    assert json.loads(db_cli("status", "--config", str(config), "--json").stdout)["up_to_date"] is True


def test_a_database_from_a_newer_version_is_refused_with_a_clear_error(tmp_path):
    url = f"sqlite:///{tmp_path / 'sw.db'}"
    Database(url).upgrade()
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'f00dfeed'"))
    engine.dispose()
    with pytest.raises(SchemaError, match="newer StreetWarden"):
        Database(url).upgrade()
    run = db_cli("upgrade", "--config", str(config_file(tmp_path, url)))
    assert run.returncode == 2
    assert run.stderr.startswith("streetwarden: error: the database schema is at revision 'f00dfeed'")
    assert "Traceback" not in run.stderr and len(run.stderr.strip().splitlines()) == 1
    assert revision(url) == ["f00dfeed"]  # refused, not touched


NEXT_REVISION = '''"""test: cameras get a note column"""
import sqlalchemy as sa
from alembic import op

revision = "9001"
down_revision = {head!r}
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cameras") as batch:
        batch.add_column(sa.Column("note", sa.String(100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cameras") as batch:
        batch.drop_column("note")
'''


def test_a_later_revision_is_applied_to_a_running_database(database_url, tmp_path, monkeypatch):
    """How an upgrade reaches a deployment: its database is at the shipped head, a new version brings
    one more revision, the next start applies it and keeps the rows."""
    Database(database_url).upgrade()
    engine = create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(Camera.__table__.insert().values(id="c1", source_masked="", analysis_fps=1, enabled=True,
                                                      zones_version=0, updated_at=1.0))
    engine.dispose()
    migrations = tmp_path / "migrations"
    shutil.copytree(store_migrate.MIGRATIONS, migrations, ignore=shutil.ignore_patterns("__pycache__"))
    (migrations / "versions" / "9001_note.py").write_text(NEXT_REVISION.format(head=head()))
    monkeypatch.setattr(store_migrate, "MIGRATIONS", migrations)
    db = Database(database_url)
    assert status(db.engine).pending == ("9001",)
    assert upgrade(db.engine).current != "9001"
    assert revision(database_url) == ["9001"]
    engine = create_engine(database_url)
    with engine.connect() as conn:
        assert "note" in {c["name"] for c in inspect(conn).get_columns("cameras")}
        assert conn.execute(text("SELECT id, note FROM cameras")).all() == [("c1", None)]
    engine.dispose()


def test_a_database_at_the_baseline_gets_the_login_counters_and_the_replace_guard(database_url):
    """A deployment made by 0.1 (revision 0001) is upgraded in place: its audit rows stay, and from
    then on REPLACE / TRUNCATE cannot rewrite them."""
    from alembic import command

    engine = create_engine(database_url)
    with engine.begin() as conn:
        command.upgrade(store_migrate._config(conn), "0001")
        conn.execute(text("INSERT INTO audit_log (at, action, details) VALUES (1.0, 'auth.login', '{}')"))
    assert status(engine).pending == REVISIONS[1:]
    assert "login_throttle" not in inspect(engine).get_table_names()
    engine.dispose()
    Database(database_url).upgrade()
    assert revision(database_url) == [REVISIONS[-1]] and drift(database_url) == []
    engine = create_engine(database_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT action FROM audit_log")).scalars().all() == ["auth.login"]
    engine.dispose()
    assert_audit_log_append_only(database_url)


AUTOINCREMENT_TABLES = ("notices", "cases", "case_history", "decisions", "outbox")


def autoincrement_tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'table'")).all()
    finally:
        engine.dispose()
    return {name for name, sql in rows if "AUTOINCREMENT" in (sql or "").upper()}


def test_sqlite_never_gives_an_undone_notice_id_again(tmp_path, vtest_path):
    """A database at 0003 with notices is upgraded: rows and refs kept, and after the newest notice is
    deleted (what an undo does) the next one gets a new id and ref, not the deleted one's."""
    from alembic import command

    from streetwarden.store.notice_schema import Case, Notice
    from streetwarden.store.notices import issue_from_decision
    from streetwarden.store.schema import Candidate
    from tests.enforcement_support import make_settings, raise_candidate, vtest_frame
    from streetwarden.store.cameras import sync_cameras

    settings = make_settings(tmp_path)
    url = settings.database_url
    engine = create_engine(url)
    with engine.begin() as conn:
        command.upgrade(store_migrate._config(conn), "0003")
        # the seeding below uses this version's ORM: the columns 0007 adds to `cameras` are made here
        # as an adopted database has them (0007 then leaves them as they are)
        for column in ("masks JSON NOT NULL DEFAULT '[]'", "masks_hash VARCHAR(64)"):
            conn.execute(text(f"ALTER TABLE cameras ADD COLUMN {column}"))
    engine.dispose()
    assert not autoincrement_tables(url) & set(AUTOINCREMENT_TABLES)
    db = Database(url)
    with db.session() as s:
        sync_cameras(s, settings)
    frame = vtest_frame(vtest_path)
    ids = [raise_candidate(db, settings, frame, ts=30.0 + 100 * k, box=(651 + 30 * k, 42, 724 + 30 * k, 99)) for k in range(4)]
    with db.session() as s:
        refs = [issue_from_decision(s, s.get(Candidate, cid), "warn", "alice", settings).ref for cid in ids[:2]]
        case_ref = issue_from_decision(s, s.get(Candidate, ids[3]), "case", "alice", settings).ref
    with db.session() as s:
        history = s.execute(text("SELECT id, case_id, to_status FROM case_history ORDER BY id")).all()
    assert history, "the seeded case has its history row"
    db.engine.dispose()
    Database(url).upgrade()
    assert revision(url) == [head()] and drift(url) == []
    assert set(AUTOINCREMENT_TABLES) <= autoincrement_tables(url)
    db = Database(url)
    with db.session() as s:
        assert [n.ref for n in s.query(Notice).order_by(Notice.id)] == refs  # kept, same ids
        assert [c.ref for c in s.query(Case)] == [case_ref]
        # copying `cases` must not cascade into its history (a DROP TABLE is a DELETE to SQLite's foreign keys)
        assert s.execute(text("SELECT id, case_id, to_status FROM case_history ORDER BY id")).all() == history
        s.delete(s.query(Notice).filter(Notice.ref == refs[1]).one())  # the newest is undone
    with db.session() as s:
        again = issue_from_decision(s, s.get(Candidate, ids[2]), "warn", "alice", settings).ref
    assert again not in refs and again > refs[1], (again, refs)


def test_a_new_sqlite_database_has_ids_that_are_never_reused(tmp_path):
    url = f"sqlite:///{tmp_path / 'sw.db'}"
    Database(url).upgrade()
    assert set(AUTOINCREMENT_TABLES) <= autoincrement_tables(url)


def test_masks_move_from_the_camera_settings_onto_the_camera_row(database_url):
    """0007: masks kept in a camera's settings JSON before are on its `cameras` row afterwards, with no
    import hash (the next config import sets it); cameras without masks get an empty list; the
    cameras' zones and settings rows stay (SQLite with foreign keys on, as the app connects)."""
    from alembic import command

    mask = [[0.0, 0.0], [0.5, 0.0], [0.5, 0.1], [0.0, 0.1]]
    engine = create_engine(database_url)
    with engine.begin() as conn:
        command.upgrade(store_migrate._config(conn), "0006")
        for cam in ("gate", "plain"):
            conn.execute(text("INSERT INTO cameras (id, source_masked, analysis_fps, enabled, zones_version, updated_at) "
                              "VALUES (:id, '', 1, true, 2, 1.0)"), {"id": cam})
        conn.execute(text("INSERT INTO camera_settings (camera_id, settings, origin, digest, version, updated_at) "
                          "VALUES ('gate', :s, 'config', '', 1, 1.0), ('plain', '{}', 'config', '', 1, 1.0)"),
                     {"s": json.dumps({"source": "x.avi", "masks": [mask]})})
        conn.execute(text("INSERT INTO zones (camera_id, zone_id, kind, polygon, settings, updated_at) "
                          "VALUES ('gate', 'walk', 'sidewalk', '[[0,0],[1,0],[1,1]]', '{}', 1.0)"))
    engine.dispose()
    Database(database_url).upgrade()
    assert revision(database_url) == [REVISIONS[-1]] and drift(database_url) == []
    engine = create_engine(database_url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, masks, masks_hash, zones_version FROM cameras ORDER BY id")).all()
        kept = conn.execute(text("SELECT camera_id, zone_id FROM zones")).all()
        settings = conn.execute(text("SELECT camera_id FROM camera_settings ORDER BY camera_id")).scalars().all()
    engine.dispose()
    assert kept == [("gate", "walk")] and settings == ["gate", "plain"], "the camera's zones and settings are kept"
    got = {r[0]: (json.loads(r[1]) if isinstance(r[1], str) else r[1], r[2], r[3]) for r in rows}
    assert got == {"gate": ([mask], None, 2), "plain": ([], None, 2)}


def test_a_registry_version_from_before_slots_still_runs_the_cameras_model(database_url):
    """0008: a version registered and promoted at 0007 has no slot afterwards and is still every camera's
    own model; a `garbage` version promoted beside it leaves it active."""
    from alembic import command

    from streetwarden.store.model_registry import service

    engine = create_engine(database_url)
    with engine.begin() as conn:
        command.upgrade(store_migrate._config(conn), "0007")
        conn.execute(text("INSERT INTO model_versions (name, version, file, sha256, family, card, metrics, state, cameras, "
                          "shadow_cameras, registered_at, activated_at, updated_at) VALUES ('street', 1, 'street-v1.onnx', "
                          ":sha, 'yolox', '{}', '{}', 'active', '[]', '[]', 1.0, 2.0, 2.0)"), {"sha": "0" * 64})
    engine.dispose()
    Database(database_url).upgrade()
    assert revision(database_url) == [REVISIONS[-1]] and drift(database_url) == []
    db = Database(database_url)
    cams = {"west-gate": ("default", "garbage")}
    with db.session() as s:
        assert service.as_json(service.get(s, "street@1"))["slot"] is None
        assert service.model_assignment(service.running(s), "west-gate", "default", main=True).active.ref == "street@1"
        bins = service.add_version(s, "bins", "bins-v1.onnx", "1" * 64, "yolox", {}, {}, None, "ops", None, "garbage")
        service.promote(s, bins.ref, None, "ops", None, cams)
    with db.session() as s:
        rows = service.running(s)
        assert [(r.ref, r.state, r.slot) for r in rows] == [("street@1", "active", None), ("bins@1", "active", "garbage")]
        assert service.model_assignment(rows, "west-gate", "default", main=True).active.ref == "street@1"
        assert service.model_assignment(rows, "west-gate", "garbage", main=False).active.ref == "bins@1"
        gone, back = service.rollback(s, None, "ops", None, cams)  # the old row rolls back as it always did
        assert (gone.ref, back) == ("street@1", None)
