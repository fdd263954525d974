"""Pattern apps: how users keep resources in an ASGI app, one module each (see dispatch)."""
