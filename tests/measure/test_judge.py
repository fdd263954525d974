"""The judge step: a verdict that depends on the HTTP implementation names it."""

from __future__ import annotations

from asgi_matrix.catalogue.load import Catalogue
from asgi_matrix.verdicts import PROPERTIES, Verdict
from asgi_matrix.verdicts.judge import BY_HTTP_IMPLEMENTATION, judge


def _attempt(status: str) -> dict[str, Verdict]:
    return {p.id: Verdict(status, "as seen") for p in PROPERTIES}


def test_a_verdict_depending_on_the_http_implementation_names_it():
    config = Catalogue.load().get("uvicorn-h11")
    cell = judge(config, [_attempt("fail")], {"main": {"ready": {"ok": True}}})
    prop = BY_HTTP_IMPLEMENTATION[0]
    assert cell["verdicts"][prop]["explanation"] == "as seen (HTTP implementation: h11)"
    assert cell["verdicts"][prop]["evidence"]["http_impl"] == "h11"
    assert cell["verdicts"]["state.supported"]["explanation"] == "as seen"  # does not depend


def test_no_implementation_named_where_the_catalogue_declares_none():
    config = Catalogue.load().get("hypercorn")
    cell = judge(config, [_attempt("pass")], {"main": {"ready": {"ok": True}}})
    assert cell["verdicts"][BY_HTTP_IMPLEMENTATION[0]]["explanation"] == "as seen"
