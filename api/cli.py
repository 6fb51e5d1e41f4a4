"""`streetwarden serve` (API + review UI + camera workers in one process) and `streetwarden users`."""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import signal
import sys
import threading
from pathlib import Path

from streetwarden.cli import UserError, register
from streetwarden.config import load_settings
from streetwarden.logs import event

log = logging.getLogger("streetwarden.serve")
ADMIN_PASSWORD_ENV = "STREETWARDEN_ADMIN_PASSWORD"
ADMIN_USER_ENV = "STREETWARDEN_ADMIN_USER"


def _secret(env_name: str) -> str:
    value = os.environ.get(env_name, "")
    if value:
        if len(value) < 16:
            raise UserError(f"${env_name} is too short: use at least 16 random characters")
        return value
    event(log, "secret_generated", logging.WARNING, env=env_name,
          hint=f"set ${env_name} so logins survive a restart")
    return secrets.token_urlsafe(32)


def _bootstrap_admin(db, config: str) -> None:  # type: ignore[no-untyped-def]
    """First start: an admin from $STREETWARDEN_ADMIN_PASSWORD, else say how to add one."""
    from streetwarden.api.users.service import AccountError, count_users, create_user
    from streetwarden.store.audit import record

    with db.session() as s:
        if count_users(s):
            return
        password = os.environ.get(ADMIN_PASSWORD_ENV)
        if not password:
            event(log, "no_users", logging.WARNING, hint=f"add an account: echo PASSWORD | streetwarden users add admin "
                  f"--role admin --password-stdin --config {config}  (or set ${ADMIN_PASSWORD_ENV} before serve)")
            return
        name = os.environ.get(ADMIN_USER_ENV, "admin")
        try:
            create_user(s, name, "admin", password)
        except AccountError as err:
            raise UserError(f"${ADMIN_PASSWORD_ENV}: {err}") from None
        record(s, "user.create", actor=None, target_type="user", target_id=name, role="admin", how="bootstrap")
        event(log, "admin_created", user=name)


def _housekeeping(db) -> None:  # type: ignore[no-untyped-def]
    from streetwarden.api.auth.service import purge_expired
    from streetwarden.api.decisions.service import purge_idempotency

    with db.session() as s:
        purge_expired(s)
        purge_idempotency(s)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from streetwarden.api.app import create_app
    from streetwarden.store.cameras import sync_cameras
    from streetwarden.store.db import Database

    settings = load_settings(args.config)
    if args.host:
        settings.server.host = args.host
    if args.port is not None:
        settings.server.port = args.port
    if args.workers is not None:
        if not 1 <= args.workers <= 32:
            raise UserError("--workers: use 1 to 32 processes")
        settings.server.workers = args.workers
    db = Database(settings.database_url)
    db.upgrade()
    secret = _secret(settings.server.secret_env)
    _bootstrap_admin(db, args.config)
    _housekeeping(db)
    worker = None
    thread = None
    if args.no_worker:
        with db.session() as s:
            sync_cameras(s, settings)
    else:
        from streetwarden.pipeline.node import node_leases
        from streetwarden.pipeline.worker import Worker

        worker = Worker(settings, db, leases=node_leases(settings, db))  # its share of the cameras, by lease

        def run_worker() -> None:
            try:
                stats = worker.run()
                event(log, "worker_stopped", **stats)
            except Exception as err:  # the API keeps serving the queue even if analysis dies
                event(log, "worker_failed", logging.ERROR, error=f"{type(err).__name__}: {err}")

        thread = threading.Thread(target=run_worker, name="worker", daemon=True)
        thread.start()
    common = dict(host=settings.server.host, port=settings.server.port, log_config=None, access_log=False,
                  lifespan="off", server_header=False)
    event(log, "serving", url=f"http://{settings.server.host}:{settings.server.port}/",
          cameras=len(worker.runners) if worker else 0, http_workers=settings.server.workers)
    def _exit(signum: int, _frame: object) -> None:
        raise SystemExit(0)

    # uvicorn handles SIGINT/SIGTERM while it runs, then re-raises the signal: with these handlers that
    # ends in SystemExit, so the camera workers below still stop cleanly and store their last events
    signal.signal(signal.SIGTERM, _exit)
    signal.signal(signal.SIGINT, _exit)
    try:
        if settings.server.workers > 1:
            from uvicorn.supervisors import Multiprocess

            os.environ["STREETWARDEN_CONFIG"] = str(Path(args.config).resolve())
            os.environ[settings.server.secret_env] = secret  # every worker process signs with the same secret
            os.environ["STREETWARDEN_LOG_LEVEL"] = logging.getLevelName(logging.getLogger().level)
            config = uvicorn.Config("streetwarden.api.app:app_from_env", factory=True, workers=settings.server.workers, **common)
            Multiprocess(config, sockets=[config.bind_socket()]).run()
        else:
            uvicorn.Server(uvicorn.Config(create_app(settings, db, worker=worker, secret=secret), **common)).run()
    finally:
        if worker is not None:
            worker.stop()
            thread.join(timeout=15)
            worker.leases.stop(hand_over=True)  # the other nodes take its cameras now, not after the lease time
        event(log, "stopped")
    return 0


def _serve_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", required=True, help="YAML configuration file")
    p.add_argument("--host", help="address to listen on (default: server.host of the config, 127.0.0.1)")
    p.add_argument("--port", type=int, help="TCP port (default: server.port of the config, 8080)")
    p.add_argument("--no-worker", action="store_true", help="serve the API and UI only; run no cameras")
    p.add_argument("--workers", type=int, help="HTTP worker processes (default: server.workers of the config, 1)")


register("serve", "Serve the review API and web queue, and run the camera workers.", _serve, _serve_args)


# ---------------------------------------------------------------- users
def _read_password(args: argparse.Namespace) -> str:
    if not args.password_stdin:
        raise UserError("give the password on standard input with --password-stdin (never on the command line)")
    line = sys.stdin.readline()
    password = line.rstrip("\r\n")
    if not password:
        raise UserError("no password on standard input")
    return password


def _users(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from streetwarden.api.users.service import AccountError, create_user, update_user
    from streetwarden.store.audit import record
    from streetwarden.store.db import Database
    from streetwarden.store.users import User

    settings = load_settings(args.config)
    db = Database(settings.database_url)
    db.upgrade()
    with db.session() as s:
        if args.users_command == "add":
            password = _read_password(args)
            try:
                user = create_user(s, args.name, args.role, password, args.display_name)
            except AccountError as err:
                raise UserError(str(err)) from None
            record(s, "user.create", actor=None, target_type="user", target_id=user.username, role=user.role, how="cli")
            print(f"added {user.username} ({user.role})")
        elif args.users_command == "list":
            for u in s.scalars(select(User).order_by(User.username)).all():
                print(f"{u.username:<24} {u.role:<12} {'active' if u.active else 'disabled'}  {u.display_name or ''}")
        elif args.users_command in ("passwd", "disable", "enable"):
            user = s.scalar(select(User).where(User.username == args.name))
            if user is None:
                raise UserError(f"no user '{args.name}'")
            try:
                if args.users_command == "passwd":
                    update_user(s, user, password=_read_password(args))
                else:
                    update_user(s, user, active=args.users_command == "enable")
            except AccountError as err:
                raise UserError(str(err)) from None
            record(s, f"user.{args.users_command}", actor=None, target_type="user", target_id=user.username, how="cli")
            print(f"{args.users_command}: {user.username}")
        else:
            raise UserError("say what to do: streetwarden users {add,list,passwd,disable,enable} --help")
    return 0


def _users_args(p: argparse.ArgumentParser) -> None:
    from streetwarden.store.users import Role

    sub = p.add_subparsers(dest="users_command", metavar="ACTION")
    add = sub.add_parser("add", help="add an account")
    add.add_argument("name", help="username")
    add.add_argument("--role", required=True, choices=[r.value for r in Role], help="what the account may do")
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    add.add_argument("--display-name", help="name shown in the UI")
    add.add_argument("--config", required=True, help="YAML configuration file")
    lst = sub.add_parser("list", help="list accounts")
    lst.add_argument("--config", required=True, help="YAML configuration file")
    for action, text in (("passwd", "set a new password"), ("disable", "disable an account"), ("enable", "enable an account")):
        q = sub.add_parser(action, help=text)
        q.add_argument("name", help="username")
        q.add_argument("--config", required=True, help="YAML configuration file")
        if action == "passwd":
            q.add_argument("--password-stdin", action="store_true", help="read the password from standard input")


register("users", "Manage accounts: add, list, passwd, disable, enable.", _users, _users_args)
