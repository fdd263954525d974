"""Stage 5, reporting: ``show`` for the terminal and the static dashboard."""
