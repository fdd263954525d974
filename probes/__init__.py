"""Code run by a server's interpreter, shipped as data: the probe app, the controls, the
harness drivers and the container recipes (see asgi_matrix.resources)."""
