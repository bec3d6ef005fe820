"""The results schema: validation, clear refusals, writes through wg_io."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from bench_documents import cell, document
from wg_bench.schema import SchemaError, load, load_many, save, validate


def test_valid_document_round_trips(tmp_path) -> None:
    doc = document([cell("numpy", [1.0, 2.0, 3.0], reference=True), cell("x", None,
                    status="skipped", reason="install with pip install x")])  # fmt: skip
    save(tmp_path / "r.json", doc)
    assert load(tmp_path / "r.json") == json.loads(json.dumps(doc))
    assert [p.name for p, _ in load_many([tmp_path])] == ["r.json"]


def test_unknown_version_is_refused_clearly(tmp_path) -> None:
    path = tmp_path / "new.json"
    path.write_text(json.dumps({"schema": "wg-bench/9", "machine": {}, "results": []}))
    with pytest.raises(SchemaError) as info:
        load(path)
    assert str(info.value) == (
        f"{path}: results schema 'wg-bench/9' is not supported: this wg-bench reads "
        "'wg-bench/1' and 'wg-bench/2'. Re-run `wg bench run` with this version, or use the "
        "wg-bench release that wrote the file"
    )


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.pop("schema"), "not a wg-bench results file (no top-level 'schema' key)"),
        (lambda d: d.update(results={}), "top-level 'results' must be a JSON list"),
        (lambda d: d["results"][0].pop("device"), "results[0] lacks the required field 'device'"),
        (
            lambda d: d["results"][0].update(status="fine"),
            "results[0] (toy.Sum(n=10) numpy [cpu]).status is 'fine'",
        ),
        (lambda d: d["results"][0].update(reference=1), "results[0].reference has type int"),
        (lambda d: d["results"][0].update(seconds=None), "status 'ok' needs 'seconds'"),
        (
            lambda d: d["results"][0]["seconds"].pop("ci95"),
            "(toy.Sum(n=10) numpy [cpu]).seconds.ci95 is missing",
        ),
    ],
)
def test_malformed_documents(mutate, message) -> None:
    doc = document([cell("numpy", [1.0], reference=True)])
    mutate(doc)
    with pytest.raises(SchemaError) as info:
        validate(doc, "r.json")
    assert message in str(info.value)


def test_unreadable_and_truncated_files(tmp_path) -> None:
    (tmp_path / "cut.json").write_text('{"schema": "wg-bench/1",\n "results": [')
    with pytest.raises(
        SchemaError,
        match=r"cut.json:2: invalid JSON: Expecting value \(column 14\); .* may be truncated",
    ):
        load(tmp_path / "cut.json")
    with pytest.raises(SchemaError, match="cannot read the results file"):
        load(tmp_path / "absent.json")
    (tmp_path / "empty").mkdir()
    with pytest.raises(SchemaError, match="holds no"):
        load_many([tmp_path / "empty"])
