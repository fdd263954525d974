"""Django's ASGI application: no lifespan support at all (it raises on the lifespan
scope), the case users meet as "lifespan rejected". Its requests must still be served."""

from __future__ import annotations

from typing import Any

import django
from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.urls import path
from patterns import _kit

PATTERN = "django-asgi"

settings.configure(DEBUG=False, ROOT_URLCONF=__name__, ALLOWED_HOSTS=["*"],
                   SECRET_KEY="asgi-matrix-probe-only", USE_TZ=True)
django.setup()


async def work(request: HttpRequest) -> JsonResponse:
    tag = request.GET.get("tag", "")

    async def handled() -> dict[str, Any]:
        return {"django": django.get_version()}

    status, body = await _kit.handle(PATTERN, tag, handled, body_bytes=len(request.body))
    return JsonResponse(body, status=status)


urlpatterns = [path(f"p/{PATTERN}/work", work)]

from django.core.asgi import get_asgi_application  # noqa: E402  (after settings)

app = get_asgi_application()
