"""Where servers run: the backend protocol (protocol.py), local processes (local/),
containers (docker/), the files the probe writes (observations.py), what a killed run
left behind (leftovers.py) and the environment step of a configuration pinned to a
release (releases.py)."""
