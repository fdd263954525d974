# The asgi-matrix runner itself, for docker-compose's `matrix` service: it drives the
# docker backend through the engine's socket, mounted by the compose file. It runs as a
# non-root user (compose gives your uid and the socket's group); base images are made
# on the host beforehand (debootstrap needs root: `make docker-matrix` does it).
# Installs from ./wheels when present (offline machines: `make docker-wheels`), else
# from the package index.
ARG BASE=python:3.11-slim
FROM ${BASE}
ENV LANG=C.UTF-8 PYTHONUNBUFFERED=1 PATH=/opt/asgi-matrix/bin:/usr/local/bin:/usr/bin:/bin
COPY . /src
RUN set -eu; \
    python3 -m venv /opt/asgi-matrix; \
    if [ -n "$(find /src/wheels -name '*.whl' 2>/dev/null | head -n 1)" ]; then \
        /opt/asgi-matrix/bin/pip install -q --no-index --find-links /src/wheels -e /src; \
    else \
        /opt/asgi-matrix/bin/pip install -q -e /src; \
    fi; \
    asgi-matrix --version
WORKDIR /src
ENV HOME=/tmp
USER 10001:10001
