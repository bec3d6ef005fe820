"""The cell measurement itself, run in this process (the runner runs it in a child)."""

from __future__ import annotations

import json
import pickle
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from wg_bench import worker
from wg_bench.discovery import discover
from wg_bench.plan import Settings, build_cells, interleave
from wg_bench.protocol import CellResult


def spec_for(toy_dir, tmp_path, pattern: str, impl: str, **settings):
    cells = build_cells(discover(toy_dir, [pattern]), "cpu", quick=True)
    tasks = interleave(cells, Settings.for_run(True, min_time=0.002, **settings), tmp_path)
    return next(t.spec for t in tasks if t.cell.implementation == impl)


def test_calibration_reaches_min_time(toy_dir, tmp_path) -> None:
    spec = replace(spec_for(toy_dir, tmp_path, "toy.Sum", "python"), min_time=0.02)
    result = worker.measure(spec)
    assert result.status == "ok", result
    assert result.first_call > 0
    assert len(result.samples) == 5
    assert result.loops > 1, "a ~30 µs call needs many loops to fill 20 ms"
    # the last warm-up sample was the one that met the target
    assert result.warmup[-1] * result.loops >= 0.02
    assert result.peak_memory_bytes > 0


def test_oracle_output_is_cached_for_the_group(toy_dir, tmp_path) -> None:
    oracle = spec_for(toy_dir, tmp_path, "toy.Sum", "numpy")
    assert worker.measure(oracle).status == "ok"
    cached = pickle.loads(Path(str(worker.cache_path(oracle))).read_bytes())
    assert float(cached) == pytest.approx(499.5)
    # a poisoned cache proves the other cells read it instead of recomputing
    with open(str(worker.cache_path(oracle)), "wb") as handle:
        pickle.dump(500.5, handle)
    wrong = spec_for(toy_dir, tmp_path, "toy.Sum", "wrong")
    assert worker.measure(wrong).status == "ok"


def test_custom_error_setup_hook_and_list_outputs(toy_dir, tmp_path) -> None:
    result = worker.measure(spec_for(toy_dir, tmp_path, "toy.Gpu", "double"))
    assert result.status == "ok", result
    assert result.metrics == {"max_error": 0.0}


def test_main_writes_the_result_file(toy_dir, tmp_path) -> None:
    spec = spec_for(toy_dir, tmp_path, "toy.Failing", "raises")
    (tmp_path / "spec.json").write_text(spec.to_json())
    assert worker.main([str(tmp_path / "spec.json"), str(tmp_path / "out.json")]) == 0
    result = json.loads((tmp_path / "out.json").read_text())
    assert result["status"] == "error"
    assert result["reason"].startswith("RuntimeError: deliberate failure at ")
    assert CellResult.from_dict(result).reason == result["reason"]


def test_metrics_must_be_numbers() -> None:
    assert worker._metrics({"acc": np.float32(0.5), "n": 3}) == {"acc": 0.5, "n": 3.0}
    with pytest.raises(TypeError, match="metrics\\(\\) must return a dict of name -> number"):
        worker._metrics({"acc": "high"})
    with pytest.raises(TypeError, match="not list"):
        worker._metrics([0.5])


SKIPPING_SUITE = """
import numpy as np

class Unsupported:
    reference = "numpy"
    tolerance = 0.0

    def setup(self, device):
        self.x = np.arange(4.0)

    def setup_gpu(self):
        raise NotImplementedError("needs CuPy: pip install cupy-cuda12x")

    def impl_numpy(self):
        return self.x.sum()

    def impl_gpu(self):
        return self.x.sum()
"""


def test_not_implemented_in_a_setup_hook_is_a_skip_with_its_reason(tmp_path) -> None:
    suites = tmp_path / "suites"
    suites.mkdir()
    (suites / "skipping.py").write_text(SKIPPING_SUITE)
    spec = spec_for(suites, tmp_path, "skipping.Unsupported", "gpu")
    result = worker.measure(spec)
    assert result.status == "skipped", result
    assert result.reason == "needs CuPy: pip install cupy-cuda12x"
    assert result.samples == ()
    assert (
        worker.measure(spec_for(suites, tmp_path, "skipping.Unsupported", "numpy")).status == "ok"
    )


SLEEPING_SUITE = """
import time


class Sleeps:
    reference = "sleep"
    tolerance = 0.0
    timer = "cpu"

    def setup(self, device):
        pass

    def impl_sleep(self):
        time.sleep(0.02)
        return 1.0
"""


@pytest.mark.parametrize("timer", [None, "wall"])
def test_cpu_timer_counts_cpu_time_and_wall_timer_counts_sleep(tmp_path, timer) -> None:
    suites = tmp_path / "suites"
    suites.mkdir()
    (suites / "sleeping.py").write_text(SLEEPING_SUITE)
    spec = spec_for(suites, tmp_path, "sleeping.Sleeps", "sleep", timer=timer, samples=3)
    result = worker.measure(spec)
    assert result.status == "ok", result
    if timer is None:  # the benchmark's own timer: process CPU time; sleeping costs almost none
        assert result.timer == "cpu"
        assert max(result.samples) < 0.01
    else:  # --timer wall overrides it: each call sleeps 20 ms
        assert result.timer == "wall"
        assert min(result.samples) >= 0.019


def test_cuda_cells_are_timed_by_the_wall_whatever_the_timer(tmp_path) -> None:
    suites = tmp_path / "suites"
    suites.mkdir()
    (suites / "sleeping.py").write_text(
        SLEEPING_SUITE.replace("tolerance", "devices = ('cpu', 'cuda')\n    tolerance")
    )
    cells = build_cells(discover(suites, ["sleeping"]), "cuda", quick=True)
    tasks = interleave(cells, Settings.for_run(True, timer="cpu", device="cuda"), tmp_path)
    assert {t.spec.timer for t in tasks} == {"wall"}
