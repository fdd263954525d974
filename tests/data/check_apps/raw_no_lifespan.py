"""A raw ASGI app without lifespan support (it refuses every scope but HTTP), serving
only /ok: a path that 404s and a missing lifespan are findings, never tracebacks. It
reads message.txt from the working folder at import, as apps read their settings: the
server must run it from its own folder."""

with open("message.txt", "rb") as _file:
    MESSAGE = _file.read().strip()


async def app(scope, receive, send):
    assert scope["type"] == "http", f"unsupported scope {scope['type']}"
    status = 200 if scope["path"] == "/ok" else 404
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": MESSAGE if status == 200 else b"no"})
