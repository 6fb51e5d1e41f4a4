"""What checking the token in the database on every request costs (api/auth/service.py `_lookup`).

Tokens are no longer cached per process (a disabled account's token must stop at once in every
process), so each authenticated request runs one query: the unique token index joined to the users
primary key. This times that lookup against a table of many tokens, on a SQLite file and, with
--postgres, on a throw-away PostgreSQL server (tests/postgres.py, Debian's postgresql package).

    python3 bench/bench_auth_lookup.py [--tokens 10000] [--lookups 5000] [--postgres]
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def measure(url: str, tokens: int, lookups: int) -> dict[str, float]:
    from sqlalchemy import insert

    from streetwarden.api.auth.service import _lookup, issue
    from streetwarden.api.users.service import create_user
    from streetwarden.store.db import Database
    from streetwarden.store.users import AuthToken

    db = Database(url)
    db.upgrade()
    with db.session() as s:
        user = create_user(s, "bench", "reviewer", "bench-password-1")
        now = time.time()
        s.execute(insert(AuthToken), [{"token_sha256": hashlib.sha256(str(i).encode()).hexdigest(), "kind": "bearer",
                                       "user_id": user.id, "csrf": None, "created_at": now, "expires_at": now + 3600}
                                      for i in range(tokens)])
        raw, _ = issue(s, user, "bearer", 3600)
    ctx = SimpleNamespace(db=db)  # _lookup reads only ctx.db
    for _ in range(200):  # warm the connection pool and the page cache
        assert _lookup(ctx, raw, "bearer") is not None
    samples = []
    for _ in range(lookups):
        t0 = time.perf_counter()
        _lookup(ctx, raw, "bearer")
        samples.append((time.perf_counter() - t0) * 1e6)
    db.engine.dispose()
    samples.sort()
    return {"p50_us": samples[len(samples) // 2], "p99_us": samples[int(len(samples) * 0.99)],
            "mean_us": statistics.fmean(samples)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tokens", type=int, default=10000, help="other tokens in the table")
    ap.add_argument("--lookups", type=int, default=5000, help="timed lookups per database")
    ap.add_argument("--postgres", action="store_true", help="also on a throw-away local PostgreSQL server")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        results = {"sqlite": measure(f"sqlite:///{tmp}/bench.db", args.tokens, args.lookups)}
        if args.postgres:
            from tests.postgres import PostgresServer

            server = PostgresServer()
            try:
                results["postgresql"] = measure(server.start(), args.tokens, args.lookups)
            finally:
                server.stop()
    for name, r in results.items():
        print(f"{name:<11} token lookup per request: p50 {r['p50_us']:.0f} µs, p99 {r['p99_us']:.0f} µs, "
              f"mean {r['mean_us']:.0f} µs ({args.tokens} tokens in the table)")


if __name__ == "__main__":
    main()
