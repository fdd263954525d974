"""Stage 2, measuring: start each configuration on a backend (``backends/``: ``local``
processes or ``docker`` containers), drive its scenarios over real HTTP (``drive/``) and
collect what the probe and the client observed. The matrix run (run.py), the judge step
of a cell (judge.py) and the cell cache (cell_cache.py) sit above both."""
