"""``--executor dask`` against a Dask LocalCluster on this machine."""

from __future__ import annotations

import threading
import time

import pytest
from wg_bench.discovery import discover
from wg_bench.plan import Settings

distributed = pytest.importorskip("distributed", reason="install with pip install 'wg-bench[dask]'")


def test_dask_executor_runs_cells_and_merges_per_machine(toy_dir, tmp_path, monkeypatch) -> None:
    from wg_bench import cluster
    from wg_bench.runner import run

    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
    ) as local:
        executor = cluster.dask_executor(local.scheduler_address)
        settings = Settings.for_run(True, min_time=0.01)
        outcome = run(discover(toy_dir, ["toy.Sum"]), settings, json_path=tmp_path / "r.json",
                      executor=executor)  # fmt: skip

        def broken(*args: object) -> None:
            raise RuntimeError("worker lost")

        monkeypatch.setattr(cluster, "run_task", broken)
        failed = run(discover(toy_dir, ["toy.Sum"]), settings, implementations=["numpy"],
                     executor=executor)  # fmt: skip
    mid = outcome.state.machine["id"]
    docs = outcome.state.documents()
    assert list(docs) == [mid], "one machine, one document"
    statuses = {c["implementation"]: c["status"] for c in docs[mid]["results"]}
    assert statuses == {"numpy": "ok", "python": "ok", "wrong": "mismatch", "missing": "skipped"}
    assert (tmp_path / "r.json").exists()
    [cell] = failed.state.documents()[mid]["results"]
    assert cell["status"] == "error"
    assert cell["reason"] == "the Dask task failed: RuntimeError: worker lost"


def test_host_lock_serialises_timing_cells() -> None:
    from wg_bench.cluster import host_lock

    inside, overlaps = [], []

    def cell() -> None:
        with host_lock():
            inside.append(1)
            overlaps.append(len(inside))
            time.sleep(0.05)
            inside.pop()

    threads = [threading.Thread(target=cell) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert overlaps == [1, 1, 1]
