"""An app whose module fails on import (a missing dependency)."""

import a_package_nobody_installed  # noqa: F401

app = None
