"""Merging shard documents: the union of what the shards measured, or a one-line refusal."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from asgi_matrix.cli import cli
from asgi_matrix.exceptions import ResultsError
from asgi_matrix.results import document as _results
from asgi_matrix.results.merge import merge
from click.testing import CliRunner
from helpers.results_docs import config_ids, sample, shard, write

IDS = config_ids()
FIRST, SECOND, THIRD = IDS[:5], IDS[5:9], IDS[9:]


def three_shards() -> list[tuple[str, dict]]:
    return [
        ("a.json", shard(FIRST, "aaaaaaaaaaaa", "2026-11-25T07:00:00+00:00",
                         "2026-11-25T07:10:00+00:00")),
        # Another offset, earlier as an instant: must win "started" by time, not by string.
        ("b.json", shard(SECOND, "bbbbbbbbbbbb", "2026-11-25T07:30:00+01:00",
                         "2026-11-25T07:40:00+01:00")),
        ("c.json", shard(THIRD, "cccccccccccc", "2026-11-25T07:05:00+00:00",
                         "2026-11-25T07:20:00+00:00")),
    ]


def test_merged_shards_give_back_the_whole_run() -> None:
    merged = merge(three_shards())
    whole = sample()
    assert merged["configurations"] == whole["configurations"]
    assert list(merged["configurations"]) == IDS
    assert merged["run"]["selected"] == IDS
    assert merged["properties"] == whole["properties"]
    assert merged["suite"] == whole["suite"]


def test_merged_run_spans_the_shards() -> None:
    run = merge(three_shards())["run"]
    assert run["started"] == "2026-11-25T07:30:00+01:00"
    assert run["finished"] == "2026-11-25T07:20:00+00:00"
    assert run["shards"] == [
        {"file": "a.json", "id": "aaaaaaaaaaaa", "started": "2026-11-25T07:00:00+00:00",
         "finished": "2026-11-25T07:10:00+00:00", "backend": "local"},
        {"file": "b.json", "id": "bbbbbbbbbbbb", "started": "2026-11-25T07:30:00+01:00",
         "finished": "2026-11-25T07:40:00+01:00", "backend": "local"},
        {"file": "c.json", "id": "cccccccccccc", "started": "2026-11-25T07:05:00+00:00",
         "finished": "2026-11-25T07:20:00+00:00", "backend": "local"},
    ]
    assert run["backend"] == "local"
    assert run["interrupted"] is False


def test_merged_run_id_depends_only_on_the_shards() -> None:
    assert merge(three_shards())["run"]["id"] == merge(three_shards())["run"]["id"]
    other = three_shards()
    other[0][1]["run"]["id"] = "dddddddddddd"
    assert merge(other)["run"]["id"] != merge(three_shards())["run"]["id"]


def test_configurations_follow_the_order_of_the_shards_selections() -> None:
    shards = list(reversed(three_shards()))
    merged = merge(shards)
    assert list(merged["configurations"]) == THIRD + SECOND + FIRST
    assert merged["run"]["selected"] == THIRD + SECOND + FIRST


def test_not_run_and_interrupted_are_unions() -> None:
    shards = three_shards()
    shards[1][1]["run"]["not_run"] = [{"id": "granian", "reason": "interrupted"}]
    shards[1][1]["run"]["interrupted"] = True
    shards[2][1]["run"]["not_run"] = [{"id": "daphne", "reason": "python"}]
    run = merge(shards)["run"]
    assert run["not_run"] == [{"id": "granian", "reason": "interrupted"},
                              {"id": "daphne", "reason": "python"}]
    assert run["interrupted"] is True


def test_an_unfinished_shard_leaves_the_merged_run_unfinished() -> None:
    shards = three_shards()
    shards[1][1]["run"]["finished"] = None
    assert merge(shards)["run"]["finished"] is None


def test_merged_document_is_valid_results(tmp_path: Path) -> None:
    path = tmp_path / "merged.json"
    _results.write_atomic(path, merge(three_shards()))
    assert _results.load(path)["run"]["shards"][2]["file"] == "c.json"


def refusal(shards: list[tuple[str, dict]]) -> str:
    with pytest.raises(ResultsError) as caught:
        merge(shards)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_refuses_different_suite_versions() -> None:
    shards = three_shards()
    shards[2][1]["suite"]["version"] = "0.2.0"
    assert refusal(shards) == ("cannot merge a.json and c.json: suite versions differ "
                               "('0.1.0' vs '0.2.0')")


def test_refuses_different_probe_hashes() -> None:
    shards = three_shards()
    shards[1][1]["suite"]["probe_sha256"] = "0000000000000000"
    recorded = shards[0][1]["suite"]["probe_sha256"]
    assert refusal(shards) == ("cannot merge a.json and b.json: probe hashes differ "
                               f"('{recorded}' vs '0000000000000000')")


def test_refuses_different_schema_versions() -> None:
    shards = three_shards()
    shards[1][1]["schema_version"] = 2
    assert refusal(shards) == ("cannot merge a.json and b.json: results schema versions "
                               "differ (1 vs 2)")


def test_refuses_overlapping_configurations() -> None:
    shards = [("a.json", shard(IDS[:3], "aaaaaaaaaaaa")),
              ("b.json", shard(IDS[1:], "bbbbbbbbbbbb"))]
    assert refusal(shards) == (f"cannot merge a.json and b.json: both contain "
                               f"configuration(s) {IDS[1]}, {IDS[2]}")


def test_overlap_message_stays_short() -> None:
    shards = [("a.json", sample()), ("b.json", sample())]
    assert refusal(shards).endswith(f"{', '.join(IDS[:5])} and {len(IDS) - 5} more")


def test_refuses_nothing() -> None:
    assert refusal([]) == "nothing to merge: no results documents given"


# The command line: the same merge, from files, with load's clean errors.

def run_cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def shard_files(tmp_path: Path) -> list[str]:
    return [str(write(tmp_path / name, document)) for name, document in three_shards()]


def test_cli_writes_the_merged_file(tmp_path: Path) -> None:
    out = tmp_path / "site" / "merged.json"
    code, stdout, stderr = run_cli("merge", *shard_files(tmp_path), "--out", str(out))
    assert code == 0, stderr
    assert stdout.strip() == str(out)
    merged = _results.load(out)
    assert list(merged["configurations"]) == IDS
    assert [s["file"] for s in merged["run"]["shards"]] == shard_files(tmp_path)


def test_cli_refuses_truncated_json(tmp_path: Path) -> None:
    files = shard_files(tmp_path)
    text = Path(files[1]).read_text()
    Path(files[1]).write_text(text[: len(text) // 2])
    code, _, stderr = run_cli("merge", *files, "--out", str(tmp_path / "m.json"))
    assert code == 1
    assert stderr.count("\n") == 1
    assert stderr.startswith(f"asgi-matrix: {files[1]}: not JSON (truncated or corrupt?): ")
    assert not (tmp_path / "m.json").exists()


def test_cli_refuses_another_schema_version(tmp_path: Path) -> None:
    files = shard_files(tmp_path)
    document = json.loads(Path(files[2]).read_text())
    document["schema_version"] = 2
    write(Path(files[2]), document)
    code, _, stderr = run_cli("merge", *files, "--out", str(tmp_path / "m.json"))
    assert code == 1
    assert stderr == (f"asgi-matrix: {files[2]}: results schema version 2, this asgi-matrix "
                      "reads version 1\n")


def test_cli_refuses_overlapping_shards(tmp_path: Path) -> None:
    a = write(tmp_path / "a.json", shard(IDS[:2], "aaaaaaaaaaaa"))
    b = write(tmp_path / "b.json", shard(IDS[1:3], "bbbbbbbbbbbb"))
    code, _, stderr = run_cli("merge", str(a), str(b), "--out", str(tmp_path / "m.json"))
    assert code == 1
    assert stderr == (f"asgi-matrix: cannot merge {a} and {b}: both contain configuration(s) "
                      f"{IDS[1]}\n")


def test_cli_refuses_different_suite_versions(tmp_path: Path) -> None:
    files = shard_files(tmp_path)
    document = json.loads(Path(files[1]).read_text())
    document["suite"]["version"] = "9.9.9"
    write(Path(files[1]), document)
    code, _, stderr = run_cli("merge", *files, "--out", str(tmp_path / "m.json"))
    assert code == 1
    assert stderr == (f"asgi-matrix: cannot merge {files[0]} and {files[1]}: suite versions "
                      "differ ('0.1.0' vs '9.9.9')\n")


def test_cli_needs_out_and_inputs(tmp_path: Path) -> None:
    assert run_cli("merge", "--out", str(tmp_path / "m.json"))[0] == 2
    assert run_cli("merge", *shard_files(tmp_path))[0] == 2


@pytest.mark.parametrize(("what", "change", "shown"), [
    pytest.param("hosts", lambda d: d["host"].update(python="3.13.5"), "'python': '3.13.5'",
                 id="host-python"),
    pytest.param("hosts", lambda d: d["host"].update(machine="aarch64"), "'aarch64'",
                 id="host-machine"),
    pytest.param("backends", lambda d: d["run"].update(backend="docker"), "'docker'",
                 id="backend"),
    pytest.param("repeat counts", lambda d: d["run"].update(repeat=3), "vs 3", id="repeat"),
])
def test_refuses_mixed_shards_unless_allowed(what: str, change: Any, shown: str) -> None:
    shards = three_shards()
    change(shards[1][1])
    message = refusal(shards)
    assert message.startswith(f"cannot merge a.json and b.json: {what} differ")
    assert shown in message
    assert message.endswith("; --allow-mixed merges them anyway")
    merged = merge(shards, allow_mixed=True)
    mixed = merged["run"]["mixed"][what.split()[0]]
    assert [m["file"] for m in mixed] == ["a.json", "b.json", "c.json"]
    assert mixed[0]["value"] != mixed[1]["value"]
    _results.validate(merged, "merged")


def test_a_kernel_patch_level_is_not_another_host() -> None:
    shards = three_shards()
    shards[1][1]["host"]["os"] = "Linux-6.1.0-99-amd64-x86_64-with-glibc2.36"
    assert "mixed" not in merge(shards)["run"]


def test_cli_allow_mixed(tmp_path: Path) -> None:
    shards = three_shards()
    shards[2][1]["run"]["backend"] = "docker"
    files = [str(write(tmp_path / name, document)) for name, document in shards]
    code, _, stderr = run_cli("merge", *files, "--out", str(tmp_path / "m.json"))
    assert code == 1
    assert "backends differ ('local' vs 'docker')" in stderr
    assert not (tmp_path / "m.json").exists()
    code, _, stderr = run_cli("merge", *files, "--out", str(tmp_path / "m.json"),
                              "--allow-mixed")
    assert code == 0, stderr
    mixed = _results.load(tmp_path / "m.json")["run"]["mixed"]
    assert [m["value"] for m in mixed["backends"]] == ["local", "local", "docker"]


def test_a_shard_with_an_invalid_timestamp_is_refused_in_one_line(tmp_path: Path) -> None:
    shards = three_shards()
    shards[1][1]["run"]["started"] = "yesterday"
    files = [str(write(tmp_path / name, document)) for name, document in shards]
    code, _, stderr = run_cli("merge", *files, "--out", str(tmp_path / "m.json"))
    assert code == 1
    assert stderr == (f"asgi-matrix: {files[1]}: not valid results at run/started: "
                      "'yesterday' is not an ISO 8601 time\n")
