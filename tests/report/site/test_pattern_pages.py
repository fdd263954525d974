"""The pattern pages: the second matrix, a page per pattern, a page per cell."""

from __future__ import annotations

import html
import json
import re
from typing import Any

from asgi_matrix.catalogue import pattern_catalogue as catalogue
from asgi_matrix.report import apps
from asgi_matrix.report import site as _site
from helpers.results_docs import without_patterns
from helpers.site_docs import FRESH, sample

PATTERNS = {p.id: p for p in catalogue.load() if p.default}
EVIL = "<script>alert(1)</script>"


def with_patterns(document: dict[str, Any]) -> dict[str, Any]:
    document["patterns"] = {pid: p.to_json() for pid, p in PATTERNS.items()}
    document["run"]["patterns"] = list(PATTERNS)
    for cell in document["configurations"].values():
        cell["patterns"] = {pid: {"status": "works", "explanation": "all 12 requests succeeded",
                                  "evidence": {"requests": 12}, "start": p.start,
                                  "seconds": 1.0, "command": ["python", "-m", "uvicorn"]}
                            for pid, p in PATTERNS.items()}
    return document


def test_no_pattern_pages_without_the_axis():
    assert "App patterns" in _site.render(sample(), FRESH)["index.html"]  # recorded with it
    files = _site.render(without_patterns(sample()), FRESH)
    assert "patterns.html" not in files
    assert "App patterns" not in files["index.html"]


def test_the_second_matrix_links_every_cell_and_pattern_page():
    document = with_patterns(sample())
    config = next(iter(document["configurations"]))
    document["configurations"][config]["patterns"]["global-resource"].update(
        status="breaks", explanation=f"6 of 12 requests failed: {EVIL}",
        evidence={"first_error": f"RuntimeError: {EVIL}",
                  "where": {"pid": 7, "thread_name": "loop-1", "loop_id": "ab12",
                            "loop_kind": "asyncio"}})
    files = _site.render(document, FRESH)
    assert "App patterns" in files["index.html"]  # the nav links the second matrix
    matrix = files["patterns.html"]
    for pattern_id in PATTERNS:
        assert f'href="patterns/{pattern_id}.html"' in matrix
        assert f"patterns/{pattern_id}.html" in files
    cell = files[f"patterns/global-resource/{config}.html"]
    assert "breaks" in cell
    assert "loop-1" in cell
    assert EVIL not in cell  # text from a server is escaped
    assert EVIL not in matrix
    assert "pool = _kit.Pool(PATTERN)" in cell  # the app's source beside the verdict
    assert f"asgi-matrix run --config {config} --pattern global-resource" in cell
    badge = json.loads(files[f"badges/patterns/global-resource/{config}.json"])
    assert badge == {"schemaVersion": 1, "label": f"global-resource on {config}",
                     "message": "breaks", "color": "red"}
    assert f"badges/patterns/global-resource/{config}.json" in cell  # the snippet
    page = files["patterns/global-resource.html"]
    assert "Why it breaks" in page
    assert "What to do instead" in page
    assert "https://github.com/django/asgiref/pull/277" in page
    assert f"patterns/global-resource/{config}.html" in page  # where it broke


def test_a_cell_says_whether_the_server_made_the_app_with_a_factory():
    document = with_patterns(sample())
    made, loaded = list(document["configurations"])[:2]
    cells = document["configurations"]
    cells[made]["patterns"]["factory-resource"]["evidence"]["app"] = {
        "reference": "patterns.dispatch:create_app", "factory": True,
        "factory_args": ["--factory"]}
    cells[loaded]["patterns"]["factory-resource"]["evidence"]["app"] = {
        "reference": "patterns.dispatch:app", "factory": False}
    files = _site.render(document, FRESH)
    made_page = files[f"patterns/factory-resource/{made}.html"]
    assert "The app came from the factory <code>patterns.dispatch:create_app</code>" in made_page
    assert "<code>--factory</code>" in made_page
    loaded_page = files[f"patterns/factory-resource/{loaded}.html"]
    assert "imported the app object <code>patterns.dispatch:app</code>" in loaded_page
    assert "came from the factory" not in loaded_page
    rows = files["patterns/factory-resource.html"]
    assert rows.count("(app factory)") == 1


def test_a_configuration_not_run_says_why_in_the_second_matrix():
    document = with_patterns(sample())
    config = next(iter(document["configurations"]))
    cell = document["configurations"][config]
    del cell["patterns"]
    cell.update(status="not-run", reason=f"no Python interpreter matching '>=3.14' {EVIL}")
    matrix = _site.render(document, FRESH)["patterns.html"]
    folded = matrix[matrix.index('<h2 id="not-run">'):]
    assert "◌ not run</span> <strong>1</strong> configuration: no Python interpreter " \
        "matching" in folded  # one line per reason, with a count
    assert f'<tr class="config" data-config="{config}">' not in matrix
    assert EVIL not in matrix
    measured = with_patterns(sample())  # ... and no such line where every one was measured
    assert 'id="not-run"' not in _site.render(measured, FRESH)["patterns.html"]


def test_advice_warns_where_the_alternative_breaks_while_the_app_works():
    document = sample()
    page = _site.render(document, FRESH)["patterns/fastapi-app-state.html"]
    assert "works wherever this app does in this run" in page  # as recorded
    assert "Careful:" not in page
    document["configurations"]["uvicorn"]["patterns"]["fastapi-yielded-state"].update(
        status="breaks", explanation="the pool was bound to another loop")
    page = _site.render(document, FRESH)["patterns/fastapi-app-state.html"]
    careful = page[page.index("Careful:"):]
    careful = careful[:careful.index("</p>")]
    assert 'href="../patterns/fastapi-yielded-state/uvicorn.html"' in careful
    assert "where this app does not: do not switch there" in careful


def test_the_second_matrix_has_titles_frameworks_first_and_servers_before_controls():
    document = sample()
    matrix = _site.render(document, FRESH)["patterns.html"]
    heads = [html.unescape(h) for h in
             re.findall(r"<span class=\"v\" aria-hidden=\"true\">([^<]+)</span>", matrix)]
    assert heads[0] == "FastAPI: lifespan= with app.state"  # titles, not slugs
    assert heads == [document["patterns"][a]["title"]
                     for a in apps.ordered(document)]
    rows = re.findall(r'<tr class="config" data-config="([^"]+)"', matrix)
    kinds = [document["configurations"][c]["kind"] for c in rows]
    assert kinds == sorted(kinds, key=lambda k: {"server": 0, "harness": 1}.get(k, 2))
    assert 'class="table-wrap" role="region"' in matrix  # scrolls in its own box


def test_a_cell_page_shows_the_app_as_users_write_it_the_log_and_the_stop():
    document = sample()
    cell = document["configurations"]["uvicorn"]["patterns"]["fastapi-app-state"]
    cell.update(log_tail=f"INFO: Started server process [42]\n{EVIL}",
                stop={"scope": "main", "exit_code": 0, "exit_signal": None, "seconds": 0.41,
                      "killed": False, "orphans": []})
    page = _site.render(document, FRESH)["patterns/fastapi-app-state/uvicorn.html"]
    yours = page[page.index('<h2 id="yours">'):page.index('<h2 id="stop">')]
    assert "app.state.pool = await asyncpg.create_pool(DSN)" in html.unescape(yours)
    assert "_kit" not in yours  # the framework's code, not the recording kit
    assert "SIGTERM to the main process; it exited with code 0 after 0.41 s." in page
    log = page[page.index('<h2 id="log">'):page.index('<h2 id="evidence">')]
    assert "Started server process [42]" in log
    assert EVIL not in page
    assert page.index('<h2 id="yours">') < page.index('<h2 id="source">')
    killed = sample()
    killed["configurations"]["uvicorn"]["patterns"]["fastapi-app-state"]["stop"] = {
        "scope": "group", "exit_code": None, "seconds": 5.0, "killed": True, "orphans": [7]}
    page = _site.render(killed, FRESH)["patterns/fastapi-app-state/uvicorn.html"]
    assert ("SIGTERM to the process group; it ignored it and was killed after 5.00 s; 1 of "
            "its processes outlived it.") in page


def test_every_default_app_has_its_user_code_without_the_kit():
    from asgi_matrix.report.site.pattern_pages import user_code

    for pattern_id in PATTERNS:
        code = user_code(pattern_id)
        assert code, pattern_id
        assert "_kit" not in code
        compile(code, pattern_id, "exec")  # Python that parses
