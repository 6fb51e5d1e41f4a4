"""Decisions on candidates (warn, case, reject, skip) and their history."""
