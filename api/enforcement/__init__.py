"""Notices, cases, plates, shops, evidence bundles and statistics for the people using StreetWarden."""
