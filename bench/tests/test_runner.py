"""End-to-end runs of the toy suite: statuses, timing, files, interruption, ordering, devices."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from wg_bench import schema
from wg_bench.discovery import SuiteError, benchmark_from_class, discover
from wg_bench.plan import Settings, Task, build_cells, interleave
from wg_bench.protocol import CellResult, CellSpec
from wg_bench.runner import RunError, history_root, run


def by_impl(document: dict[str, Any], benchmark: str) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for cell in document["results"]:
        if cell["benchmark"] == benchmark:
            found.setdefault(cell["implementation"], cell)
    return found


def test_correct_implementations_are_timed_with_ratio_and_calibration(toy_run) -> None:
    _, doc, _ = toy_run
    cells = by_impl(doc, "Sum")
    numpy, python = cells["numpy"], cells["python"]
    assert numpy["status"] == python["status"] == "ok"
    assert numpy["reference"]
    assert not python["reference"]
    assert len(python["seconds"]["samples"]) == 5
    s = python["seconds"]
    assert s["q25"] <= s["median"] <= s["q75"]
    assert s["ci95"][0] <= s["median"] <= s["ci95"][1]
    # calibration: one sample (loops calls) lasts at least --min-time
    assert s["loops"] * min(s["samples"]) >= 0.01 * 0.5
    assert numpy["ratio"]["value"] == pytest.approx(1.0)
    assert python["ratio"]["value"] > 2, "a Python loop over 1000 floats beats numpy.sum?"
    low, high = python["ratio"]["ci95"]
    assert low <= python["ratio"]["value"] <= high
    assert python["metrics"] == {"max_error": 0.0, "value": pytest.approx(499.5)}
    assert python["first_call_seconds"] > 0
    assert python["peak_memory_bytes"] >= python["baseline_memory_bytes"] > 1_000_000
    assert any(pool.get("num_threads") == 1 for pool in python["threads"])


def test_wrong_output_is_a_mismatch_and_not_timed(toy_run) -> None:
    wrong = by_impl(toy_run[1], "Sum")["wrong"]
    assert wrong["status"] == "mismatch"
    assert wrong["seconds"] is None
    assert wrong["ratio"] is None
    assert wrong["reason"] == "error 0.001 > tolerance 1e-09 against numpy"
    assert wrong["metrics"]["max_error"] == pytest.approx(1 / 1000)


def test_missing_requirement_is_skipped_with_install_hint(toy_run) -> None:
    missing = by_impl(toy_run[1], "Sum")["missing"]
    assert missing["status"] == "skipped"
    assert missing["reason"] == (
        "install with pip install no-such-module (wg_bench_no_such_module is not installed)"
    )


#: implementation of the toy suite's Failing benchmark -> (status, part of the reason)
FAILURES = {
    "raises": ("error", "RuntimeError: deliberate failure at "),
    "aborts": ("error", "crashed with signal SIGABRT"),
    "hangs": ("error", "timed out after 3 s (the per-cell timeout"),
    "killed": ("error", "killed by SIGKILL (most likely out of memory"),
    "exhausted": ("error", "out of memory (MemoryError) cannot allocate 1 TiB"),
    "shape": ("mismatch", "output['v'] has shape (5,) but the oracle's has (10,)"),
}


def test_every_failure_mode_of_the_toy_suite_is_checked(toy_run) -> None:
    assert set(by_impl(toy_run[1], "Failing")) == {"numpy", *FAILURES}


@pytest.mark.parametrize("impl", FAILURES)
def test_failures_become_results_and_the_run_goes_on(toy_run, impl) -> None:
    status, reason = FAILURES[impl]
    cell = by_impl(toy_run[1], "Failing")[impl]
    assert cell["status"] == status
    assert reason in cell["reason"]
    if impl == "raises":
        toy = Path(__file__).parent / "suites" / "toy.py"
        line = (
            toy.read_text().splitlines().index('        raise RuntimeError("deliberate failure")')
        )
        assert cell["reason"].endswith(f"{toy}:{line + 1}")


def test_results_file_and_history_are_valid_and_complete(toy_run) -> None:
    _, doc, out = toy_run
    assert doc["schema"] == "wg-bench/2"
    assert doc["complete"] is True
    assert schema.validate(doc) is doc
    history = list((out / "history").rglob("*.json"))
    assert len(history) == 1
    assert history[0].parent.name == doc["machine"]["id"]
    assert json.loads(history[0].read_text())["results"] == doc["results"]
    env = doc["machine"]["environment"]
    assert env["OPENBLAS_NUM_THREADS"] == env["OMP_NUM_THREADS"] == "1"
    assert doc["settings"]["samples"] == 5
    assert doc["settings"]["quick"] is True
    assert not list(out.glob(".*wgtmp*")), "a temporary file of an atomic write was left behind"


def test_quick_uses_quick_params_and_flat_params(toy_dir) -> None:
    suites = discover(toy_dir, ["toy"])
    cells = build_cells(suites, "cpu", quick=True)
    sums = {c.params["n"] for c in cells if c.bench.name == "Sum"}
    gpus = {c.params["n"] for c in cells if c.bench.name == "Gpu"}
    assert sums == {1000}
    assert gpus == {2, 3}
    assert {c.params["n"] for c in build_cells(suites, "cpu", quick=False)
            if c.bench.name == "Sum"} == {1000, 4000}  # fmt: skip


def test_order_is_interleaved_and_oracle_first(toy_dir, tmp_path) -> None:
    suites = discover(toy_dir, ["toy.Sum"])
    cells = build_cells(suites, "cpu", quick=True)
    tasks = interleave(cells, Settings(rounds=2, samples=4), tmp_path)
    order = [(t.round, t.cell.implementation) for t in tasks]
    impls = ["numpy", "missing", "python", "wrong"]
    assert order == [(0, i) for i in impls] + [(1, i) for i in reversed(impls)]
    assert all(t.spec.samples == 2 for t in tasks)


def test_full_only_implementations_are_left_out_of_quick_runs(toy_dir) -> None:
    suites = discover(toy_dir, ["toy.Sum"])
    bench = suites[0].benchmarks[0]
    suites[0].benchmarks[0] = replace(bench, full_only=("python",))
    quick = {c.implementation for c in build_cells(suites, "cpu", True)}
    full = {c.implementation for c in build_cells(suites, "cpu", False)}
    asked = {c.implementation for c in build_cells(suites, "cpu", True, ["python"])}
    assert "python" not in quick
    assert "python" in full
    assert asked == {"numpy", "python"}


def test_full_only_must_name_a_timed_implementation() -> None:
    class B:
        reference = "a"
        tolerance = 0
        full_only = ("a",)

        def impl_a(self) -> int:
            return 1

    with pytest.raises(SuiteError, match=r"full_only names 'a', which is not an implementation"):
        benchmark_from_class("t", Path(__file__), B)


def test_impl_filter_keeps_the_reference(toy_dir) -> None:
    cells = build_cells(discover(toy_dir, ["toy.Sum"]), "cpu", True, ["python"])
    assert sorted(c.implementation for c in cells) == ["numpy", "python"]


def test_cuda_cells_are_skipped_with_a_reason_without_gpu(toy_dir, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no nvidia-smi
    outcome = run(discover(toy_dir, ["toy.Gpu", "toy.Sum"]), Settings.for_run(True, device="cuda"),
                  json_path=tmp_path / "gpu.json")  # fmt: skip
    cells = outcome.state.documents()[outcome.state.machine["id"]]["results"]
    reasons = {(c["benchmark"], c["status"], c["reason"]) for c in cells}
    assert reasons == {
        ("Gpu", "skipped", "no CUDA GPU on this machine (nvidia-smi not found)"),
        ("Sum", "skipped", "Sum runs only on cpu"),
    }


def test_interrupted_run_keeps_finished_cells(toy_dir, tmp_path) -> None:
    def interrupted_executor(tasks: list[Task], env: dict[str, str], done: Any) -> None:
        done(tasks[0], CellResult("ok", samples=(1.0, 1.1, 0.9), first_call=2.0, warmup=(1.0,),
                                  loops=1))  # fmt: skip
        raise KeyboardInterrupt

    outcome = run(discover(toy_dir, ["toy.Sum"]), Settings.for_run(True),
                  json_path=tmp_path / "r.json", executor=interrupted_executor)  # fmt: skip
    assert outcome.interrupted
    doc = schema.load(tmp_path / "r.json")
    assert doc["complete"] is False
    assert [(c["implementation"], c["status"]) for c in doc["results"]] == [("numpy", "ok")]
    assert doc["results"][0]["seconds"]["median"] == 1.0


def test_nothing_to_run_is_an_error(tmp_path) -> None:
    (tmp_path / "empty.py").write_text("X = 1\n")
    with pytest.raises(RunError, match="hold no benchmark"):
        run(discover(tmp_path, ["empty"]), Settings())


def test_history_root_precedence(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("WG_BENCH_HISTORY", str(tmp_path / "env"))
    assert history_root(None) == tmp_path / "env"
    assert history_root(tmp_path / "opt") == tmp_path / "opt"
    monkeypatch.delenv("WG_BENCH_HISTORY")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert history_root(None) == tmp_path / "xdg" / "wg-bench" / "history"


def test_missing_oracle_falls_back_to_the_reference_with_a_note(toy_run) -> None:
    cells = by_impl(toy_run[1], "GhostOracle")
    note = (
        "gated against the reference numpy: the oracle ghost cannot run here (install with pip "
        "install ghost (wg_bench_no_such_module is not installed))"
    )
    assert cells["ghost"]["status"] == "skipped"
    assert (cells["numpy"]["status"], cells["numpy"]["reason"]) == ("ok", note)
    assert (cells["loop"]["status"], cells["loop"]["reason"]) == ("ok", note)
    assert cells["loop"]["oracle"] == "numpy"
    assert cells["loop"]["ratio"]["value"] > 0


def test_nothing_to_gate_against_is_a_skip() -> None:
    from wg_bench.cellrun import resolve_oracle

    spec = CellSpec(
        "s.py", "B", (), "loop", oracle="ghost", reference="phantom",
        oracle_requires=("wg_bench_no_such_module", "pip install ghost"),
        reference_requires=("wg_bench_no_such_module_2", "pip install phantom"),
    )  # fmt: skip
    with pytest.raises(LookupError, match="neither the oracle ghost nor the reference phantom"):
        resolve_oracle(spec)
    runnable = replace(spec, oracle_requires=None)
    assert resolve_oracle(runnable) == (runnable, "")


def test_cuda_cells_run_where_nvidia_smi_lists_a_gpu(toy_dir, tmp_path, monkeypatch) -> None:
    fake = tmp_path / "nvidia-smi"
    fake.write_text("#!/bin/sh\necho 'NVIDIA H100 80GB HBM3, 81559 MiB, 580.159.04'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{Path(sys.executable).parent}:/usr/bin:/bin")
    outcome = run(discover(toy_dir, ["toy.Gpu"]), Settings.for_run(True, device="cuda",
                  min_time=0.01), implementations=["numpy"])  # fmt: skip
    assert outcome.state.machine["gpus"] == [
        {"name": "NVIDIA H100 80GB HBM3", "memory": "81559 MiB", "driver": "580.159.04"}
    ]
    cells = outcome.state.documents()[outcome.state.machine["id"]]["results"]
    assert {(c["params"]["n"], c["device"], c["status"]) for c in cells} == {
        (2, "cuda", "ok"), (3, "cuda", "ok"),
    }  # fmt: skip


def test_failed_cells_are_not_rerun_in_later_rounds(toy_dir, tmp_path) -> None:
    seen: list[tuple[int, str, str]] = []

    def note(task: Task, result: CellResult) -> None:
        seen.append((task.round, task.cell.implementation, result.status))

    settings = Settings.for_run(False, rounds=2, samples=2, min_time=0.005)
    outcome = run(discover(toy_dir, ["toy.Sum"]), settings, implementations=["wrong"], on_done=note)
    assert seen == [(0, "numpy", "ok"), (0, "wrong", "mismatch")] * 2 + [
        (1, "wrong", "settled"), (1, "numpy", "ok"),
    ] * 2  # fmt: skip
    cells = outcome.state.documents()[outcome.state.machine["id"]]["results"]
    assert {(c["params"]["n"], c["implementation"], c["status"], c["rounds"]) for c in cells} == {
        (1000, "numpy", "ok", 2), (1000, "wrong", "mismatch", 1),
        (4000, "numpy", "ok", 2), (4000, "wrong", "mismatch", 1),
    }  # fmt: skip


def fake_result(samples: list[float]) -> CellResult:
    return CellResult("ok", samples=tuple(samples), first_call=1.0, warmup=(1.0,), loops=1)


def test_ratios_use_every_round_of_cell_and_reference(toy_dir) -> None:
    base = {"numpy": 1.0, "python": 3.0}

    def executor(tasks: list[Task], env: dict[str, str], done: Any) -> None:
        for t in tasks:  # round 1 is twice as slow: the ratio must pool both rounds of both
            scale = base[t.cell.implementation] * (1 + t.round)
            done(t, fake_result([scale, scale * 1.01]))

    outcome = run(discover(toy_dir, ["toy.Sum"]), Settings.for_run(True, rounds=2, samples=4),
                  implementations=["python"], executor=executor)  # fmt: skip
    doc = outcome.state.documents()[outcome.state.machine["id"]]
    python = next(c for c in doc["results"] if c["implementation"] == "python")
    assert python["rounds"] == 2
    assert len(python["seconds"]["samples"]) == 4
    assert python["ratio"]["value"] == pytest.approx(3.0, rel=0.01)


def test_interrupted_multi_round_run_keeps_partly_measured_cells(toy_dir, tmp_path) -> None:
    def executor(tasks: list[Task], env: dict[str, str], done: Any) -> None:
        for t in tasks[:2]:  # round 0 of numpy and python, then Ctrl-C
            done(t, fake_result([1.0, 1.1]))
        raise KeyboardInterrupt

    outcome = run(discover(toy_dir, ["toy.Sum"]), Settings.for_run(True, rounds=2, samples=4),
                  implementations=["python"], json_path=tmp_path / "r.json",
                  executor=executor)  # fmt: skip
    assert outcome.interrupted
    cells = schema.load(tmp_path / "r.json")["results"]
    assert [(c["implementation"], c["rounds"]) for c in cells] == [("numpy", 1), ("python", 1)]
