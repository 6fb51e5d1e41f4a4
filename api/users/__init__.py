"""Account management (admin) and the `streetwarden users` command's rules."""
