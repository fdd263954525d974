"""check in containers: the configuration's probe image plus the recording layer.

The probe image (``measure/backends/docker/images.py``) holds the probe and the pattern apps; a
check adds one file, ``asgi_matrix_check.py``, in an image of its own built on top
(``FROM`` the probe image, one ``COPY``: under a second, offline), tagged by a hash of
the probe image's id and the layer's bytes, reused while both are unchanged. The
probe images of the matrix stay as they are.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
from dataclasses import replace
from typing import Any

from asgi_matrix.exceptions import ImageBuildFailed
from asgi_matrix.measure.backends.protocol import Prepared
from asgi_matrix.resources import PROBES_DIR

LAYER_FILE = PROBES_DIR / "asgi_matrix_check.py"
REPO = "asgi-matrix-check"
_DOCKERFILE = """FROM {base}
LABEL asgi-matrix=1 asgi-matrix.image=check asgi-matrix.base="{base}"
COPY asgi_matrix_check.py /opt/probe/asgi_matrix_check.py
"""


def _context(base: str, layer: bytes) -> io.BytesIO:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in (("Dockerfile", _DOCKERFILE.format(base=base).encode()),
                           ("asgi_matrix_check.py", layer)):
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    buffer.seek(0)
    return buffer


def with_layer(client: Any, prepared: Prepared) -> Prepared:
    """``prepared`` whose image also holds the recording layer (built now if missing)."""
    base = str(prepared.provenance["image"])
    layer = LAYER_FILE.read_bytes()
    digest = hashlib.sha256(str(prepared.provenance.get("image_id", base)).encode() + b"\0"
                            + layer).hexdigest()[:16]
    tag = f"{REPO}:{digest}"
    try:
        client.images.get(tag)
    except Exception:  # not built yet (docker.errors.ImageNotFound), or unreadable: build
        try:
            client.images.build(fileobj=_context(base, layer), custom_context=True, tag=tag,
                                network_mode="none", rm=True, forcerm=True, pull=False)
        except Exception as err:  # docker.errors.BuildError / APIError
            raise ImageBuildFailed(f"the check layer on {base}: {err}") from err
    return replace(prepared, provenance={**prepared.provenance, "image": tag,
                                         "probe_image": base})
