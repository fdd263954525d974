"""The local backend: servers as processes of this machine, each in its own virtualenv."""
