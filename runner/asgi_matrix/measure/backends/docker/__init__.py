"""The docker backend: engine access, base images, wheelhouse, probe images, compose."""
