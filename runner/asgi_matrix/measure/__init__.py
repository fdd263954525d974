"""Stage 2, measuring: start each configuration on a backend (``local`` processes or
``docker`` containers), drive its scenarios over real HTTP and collect what the probe and
the client observed. The matrix run and the cell cache live here too."""
