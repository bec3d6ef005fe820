"""Every ``targets`` entry of the repository's suites names real cells (a conformance test over
the suites, as for the harness's own rules): ours starts with ``wg``, the peer does not, both are
implementations of the benchmark, and ``params`` is None or one of its parameter sets."""

from __future__ import annotations

from typing import Any

import pytest
from wg_bench.discovery import load_module, load_suite, suites_dir

SUITES = sorted(p for p in suites_dir().glob("*.py") if not p.name.startswith("_"))


def _targets() -> list[tuple[str, Any, dict[str, Any]]]:
    found = []
    for path in SUITES:
        module = load_module(path)
        for bench in load_suite(path).benchmarks:
            for target in getattr(getattr(module, bench.name), "targets", []):
                found.append((bench.qualname, bench, target))
    return found


TARGETS = _targets()


#: benchmark -> (ours, peer) of the speed target the issues set for it
ISSUE_TARGETS = {
    "autodiff.GmmGradient": ("wg_optimized", "jax_jit"),
    "autodiff.BaJacobian": ("wg", "jax_jit"),
    "autodiff.LstmGradient": ("wg_optimized", "jax_jit"),
    "convnet.Conv2DForwardBackward": ("wg", "torch"),
    "convnet.TrainingStep": ("wg", "torch"),
    "online.TextToModel": ("wg", "vw"),
    "online.FfmTextToModel": ("wg", "vw_lrqfa"),
}


def test_the_issues_targets_are_declared() -> None:
    declared = {(name, t["ours"], t["peer"]) for name, _, t in TARGETS}
    assert {(name, *pair) for name, pair in ISSUE_TARGETS.items()} <= declared


@pytest.mark.parametrize(("name", "bench", "target"), TARGETS, ids=[t[0] for t in TARGETS])
def test_target_names_cells_of_its_benchmark(name: str, bench: Any, target: dict) -> None:
    assert set(target) == {"params", "ours", "peer", "max_ratio"}
    assert target["ours"].startswith("wg")
    assert not target["peer"].startswith("wg")
    assert {target["ours"], target["peer"]} <= set(bench.implementations)
    assert isinstance(target["max_ratio"], int | float)
    assert target["max_ratio"] > 0
    if target["params"] is not None:
        assert list(target["params"]) == list(bench.param_names)
        for values, key in zip(bench.params, bench.param_names, strict=True):
            assert target["params"][key] in values
