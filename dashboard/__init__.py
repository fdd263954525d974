"""The dashboard's templates and static files, shipped as data (see asgi_matrix.resources)."""
