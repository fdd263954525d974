"""asgi-matrix: how each real ASGI server runs your app, measured with evidence."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
