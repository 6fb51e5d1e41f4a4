"""The model registry over HTTP (admins): list versions, shadow, promote, roll back."""
