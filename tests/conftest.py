"""Shared fixtures. Tests that start real servers share one warm run of the matrix."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
