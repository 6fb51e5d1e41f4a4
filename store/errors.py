"""Errors of the store's services, phrased for the user; the API maps them to 404 / 409 / 422."""


class NotFound(LookupError):
    """The notice, case, candidate or delivery does not exist."""


class Conflict(RuntimeError):
    """The request is valid but does not fit the current state (e.g. closing a rejected case)."""


class Invalid(ValueError):
    """A value that can never be accepted (unknown status, malformed plate)."""
