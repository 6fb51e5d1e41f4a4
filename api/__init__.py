"""FastAPI service: the review queue, decisions, cameras/zones, auth and the audit log.

One package per domain (auth, users, candidates, decisions, cameras, audit), each with models
(pydantic I/O), service (queries and rules) and views (routes); `api.app.create_app` assembles them.
"""
