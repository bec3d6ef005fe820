"""The license and meetings suites: generated trees, the gate between the in-process check and
the command, and the skip without the corpus."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from wg_bench.discovery import load_module, suites_dir

LICENSE = load_module(suites_dir() / "license.py")
MEETINGS = load_module(suites_dir() / "meetings.py")


def test_generated_tree_has_every_ecosystem_and_known_findings(tmp_path: Path) -> None:
    LICENSE.write_tree(tmp_path, 30)
    manifests = sorted(p.name for p in tmp_path.glob("group000/*/*") if "LICENSE" not in p.name)
    assert manifests.count("pyproject.toml") == manifests.count("Cargo.toml") == 10
    assert manifests.count("package.json") == 10
    bench = LICENSE.CheckTree()
    bench.root = tmp_path
    output = bench.impl_wg()
    # every 5th package writes MIT/ISC (one syntax error, ISC's text missing); every 5th
    # declares Apache-2.0 without its text
    assert bench.metrics(output) == {"packages": 30, "findings": 18, "exit_code": 3}
    assert bench.error(bench.impl_wg_cli(), output) == 0.0


def test_license_gate_fails_on_a_different_report(tmp_path: Path) -> None:
    LICENSE.write_tree(tmp_path, 10)
    bench = LICENSE.CheckTree()
    bench.root = tmp_path
    before = bench.impl_wg()
    (tmp_path / "group000" / "pkg00004" / "LICENSE-APACHE").write_text(LICENSE.APACHE)
    assert bench.error(bench.impl_wg(), before) == 1.0


def test_meetings_cells_agree_on_the_corpus() -> None:
    bench = MEETINGS.CheckCorpus()
    try:
        bench.setup("cpu", "rust-ml-meetings")
    except NotImplementedError as exc:
        pytest.skip(str(exc))
    output = bench.impl_wg()
    assert bench.error(bench.impl_wg_cli(), output) == 0.0
    metrics = bench.metrics(output)
    assert metrics["files"] == 36
    assert metrics["errors"] > 0
    fewer = np.frombuffer(b"[]", np.uint8)
    assert bench.error(fewer, output) == 1.0


def test_meetings_cell_is_skipped_without_the_corpus(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WG_CORPUS", str(tmp_path / "nowhere"))
    with pytest.raises(NotImplementedError) as info:
        MEETINGS.CheckCorpus().setup("cpu", "rust-ml-meetings")
    assert str(info.value) == (
        f"the corpus {tmp_path / 'nowhere' / 'rust-ml-meetings'} is absent; lay shared/corpus "
        "beside the checkout or set WG_CORPUS to its folder"
    )
