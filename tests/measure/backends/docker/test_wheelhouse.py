"""Requirements as an image gets them: markers judged for the image's Python, no URLs."""

from __future__ import annotations

import pytest
from asgi_matrix.exceptions import AsgiMatrixError, WheelhouseError
from asgi_matrix.measure.backends.docker.wheelhouse import normalize_requirements


def test_markers_are_judged_for_the_images_python() -> None:
    requires = ["uvicorn[standard] >= 0.30 ; python_version >= '3.8'",
                "tomli ; python_version < '3.11'", "exceptiongroup; python_version<'3.11'",
                "anyio>=4"]
    assert normalize_requirements(requires, "3.13") == ["anyio>=4", "uvicorn[standard]>=0.30"]
    assert normalize_requirements(requires, "3.10") == [
        "anyio>=4", "exceptiongroup", "tomli", "uvicorn[standard]>=0.30"]
    assert normalize_requirements(["uvloop; sys_platform == 'win32'", "a"], "3.11") == ["a"]


@pytest.mark.parametrize(("requires", "message"), [
    (["uvicorn @ git+https://github.com/encode/uvicorn"], "use --backend local"),
    (["uvicorn >>= 1"], "invalid requirement"),
    (["tomli; python_version < '3'"], "no requirements given"),
])
def test_what_cannot_go_into_an_image_is_an_error_of_the_tree(requires: list[str],
                                                               message: str) -> None:
    with pytest.raises(WheelhouseError, match=message) as info:
        normalize_requirements(requires, "3.11")
    assert isinstance(info.value, AsgiMatrixError)
