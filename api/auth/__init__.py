"""Accounts, logins, sessions, bearer tokens, CSRF and role checks."""
