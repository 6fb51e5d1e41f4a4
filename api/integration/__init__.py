"""The case-management system's API: pull notices and cases, post case status, manage webhook deliveries."""
