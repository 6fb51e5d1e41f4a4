"""Store errors as HTTP answers: NotFound 404, Conflict 409, Invalid 422 — never a 500 for bad input."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import HTTPException

from streetwarden.store.errors import Conflict, Invalid, NotFound


@contextmanager
def http_errors() -> Iterator[None]:
    try:
        yield
    except NotFound as err:
        raise HTTPException(404, str(err)) from None
    except Conflict as err:
        raise HTTPException(409, str(err)) from None
    except Invalid as err:
        raise HTTPException(422, str(err)) from None
