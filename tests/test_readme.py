"""The README's verdict and property tables say what the code does: every property with
its level, every status, and the MUST/SHOULD quotes the levels stand on."""

from __future__ import annotations

import re
from pathlib import Path

from asgi_matrix.verdicts import PROPERTIES, PROPERTY_STATUSES

README = (Path(__file__).parents[1] / "README.md").read_text()


def _table_after(heading: str) -> list[list[str]]:
    """The rows of the first Markdown table after ``heading`` (header and rule dropped)."""
    rest = README[README.index(heading):]
    rows = []
    for line in rest.splitlines():
        if line.startswith("|"):
            rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
        elif rows:
            break
    return rows[2:]


def _ids(cell: str) -> list[str]:
    """``a``, ``b`` and ``x.{main,group}`` written in one cell: every id it names."""
    found = []
    for name in re.findall(r"`([^`]+)`", cell):
        if match := re.fullmatch(r"(.*)\{([^}]+)\}(.*)", name):
            found += [match[1] + part + match[3] for part in match[2].split(",")]
        else:
            found.append(name)
    return found


def _property_rows() -> dict[str, str]:
    return {prop_id: row[1] for row in _table_after("| property | level | checks |")
            for prop_id in _ids(row[0])}


def test_the_property_table_lists_every_property_once() -> None:
    listed = [prop_id for row in _table_after("| property | level | checks |")
              for prop_id in _ids(row[0])]
    assert len(listed) == len(set(listed))
    assert sorted(listed) == sorted(p.id for p in PROPERTIES)


def test_the_property_table_gives_each_property_its_level() -> None:
    rows = _property_rows()
    wrong = {p.id: (rows.get(p.id), p.level) for p in PROPERTIES if rows.get(p.id) != p.level}
    assert wrong == {}, "README level vs code level"


def test_the_status_table_names_every_status() -> None:
    shown = {re.sub(r"^\W+\s*", "", row[0]).split()[0] for row in _table_after("| status |")}
    # "no" is how a failed SHOULD / not-in-spec property is displayed; it is stored as fail
    assert shown == {*PROPERTY_STATUSES, "no"}


def test_each_required_level_is_a_quote_the_readme_explains() -> None:
    levels = README[README.index("**Levels.**"):README.index("**Per loop.**")]
    for level in ("**MUST**", "**SHOULD**", "**not-in-spec**"):
        assert level in levels
    for prop in PROPERTIES:
        if prop.level != "not-in-spec":  # the code refuses a MUST/SHOULD without a quote
            assert prop.reference.quote


ROUND3 = "| configuration | served by | ✗ fail | ○ no | – unsupported, ! error |"


def test_the_round3_findings_use_the_dashboards_words() -> None:
    """Each cell of the round-3 table names properties by their dashboard titles, a MUST
    under ✗ fail and the others under ○ no, as the dashboard shows them."""
    from asgi_matrix.catalogue.load import Catalogue

    titles = {p.title: p.level for p in PROPERTIES}
    known = set(Catalogue.load().ids())
    rows = _table_after(ROUND3)
    assert rows
    for config, _served, failed, no, other in rows:
        assert config.strip("`") in known, config
        named = {"fail": failed, "no": no}
        for column, cell in named.items():
            for title in filter(None, (t.strip() for t in cell.split(","))):
                if title == "—":
                    continue
                assert title in titles, (config, title)
                assert (titles[title] == "MUST") == (column == "fail"), (config, title)
        for item in filter(None, (t.strip() for t in other.split(","))):
            if item != "—":
                assert item[:2] in {"– ", "! "}, (config, item)
                assert item[2:] in titles, (config, item)
