"""Suite discovery: patterns, defaults, and a clear error for every malformed benchmark."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from wg_bench.discovery import SuiteError, discover, suites_dir


def write(folder: Path, name: str, body: str) -> Path:
    path = folder / f"{name}.py"
    path.write_text(textwrap.dedent(body))
    return path


GOOD = """
    class Bench:
        '''First line.

        More.'''
        params = [[1, 2], ["a"]]
        param_names = ["n", "s"]
        reference = "numpy"
        oracle = "slow"
        tolerance = 1e-6
        def impl_numpy(self): return 1
        def impl_slow(self): return 1
        def impl_fast(self): return 1

    class NotABenchmark:
        pass
"""


def test_discovers_benchmarks_and_orders_oracle_reference_rest(tmp_path) -> None:
    write(tmp_path, "alpha", GOOD)
    [suite] = discover(tmp_path, ["alpha"])
    [bench] = suite.benchmarks
    assert bench.qualname == "alpha.Bench"
    assert bench.description == "First line."
    assert bench.implementations == ("slow", "numpy", "fast")
    assert bench.param_grid() == [(0, 0), (1, 0)]
    assert bench.param_dict((1, 0)) == {"n": 2, "s": "a"}
    assert bench.timeout == 600
    assert bench.devices == ("cpu",)


def test_a_private_base_shares_settings_and_is_not_a_benchmark(tmp_path) -> None:
    write(tmp_path, "alpha", """
        class _Base:
            reference = "numpy"
            tolerance = 1e-3
            def impl_numpy(self): return 1

        class Bench(_Base):
            def impl_fast(self): return 1
    """)  # fmt: skip
    [suite] = discover(tmp_path, ["alpha"])
    assert suite.error is None
    assert [(b.name, b.reference, b.tolerance) for b in suite.benchmarks] == [
        ("Bench", "numpy", 1e-3)
    ]
    assert suite.benchmarks[0].implementations == ("numpy", "fast")


@pytest.mark.parametrize("pattern", ["alpha.Bench", "alpha.B*", "bench", "ALPHA.bench"])
def test_patterns_select_benchmarks(tmp_path, pattern) -> None:
    write(tmp_path, "alpha", GOOD)
    write(tmp_path, "beta", GOOD.replace("class Bench", "class Other"))
    suites = discover(tmp_path, [pattern])
    assert [(s.name, [b.name for b in s.benchmarks]) for s in suites] == [("alpha", ["Bench"])]


def test_unmatched_pattern_is_reported(tmp_path) -> None:
    write(tmp_path, "alpha", GOOD)
    with pytest.raises(SuiteError, match=r"matches 'nothing'; `wg bench list` shows what exists"):
        discover(tmp_path, ["nothing"])


def test_defaults_and_missing_defaults(tmp_path) -> None:
    write(tmp_path, "autodiff", GOOD)
    write(tmp_path, "extra", GOOD)
    assert [s.name for s in discover(tmp_path)] == ["autodiff"]
    assert [s.name for s in discover(tmp_path, defaults=())] == ["autodiff", "extra"]
    with pytest.raises(SuiteError, match="none of the default suites convnet exists"):
        discover(tmp_path, defaults=("convnet",))


@pytest.mark.parametrize(
    ("replace", "by", "message"),
    [
        (
            'reference = "numpy"',
            'reference = "nope"',
            "reference = 'nope' but there is no impl_nope",
        ),
        ('oracle = "slow"', 'oracle = "x"', "oracle = 'x' but there is no impl_x"),
        (
            'param_names = ["n", "s"]',
            'param_names = ["n"]',
            "2 parameter list(s) in params but 1 param_names",
        ),
        ("tolerance = 1e-6", "tolerance = -1", "tolerance must be a number >= 0"),
        ("tolerance = 1e-6", "tolerance = 0; timeout = '5'", "timeout must be a number of seconds"),
        ("tolerance = 1e-6", "tolerance = 0; devices = ('tpu',)", "unknown device(s) ['tpu']"),
        ("tolerance = 1e-6", "tolerance = 0; timer = 'process'", "timer must be one of wall, cpu"),
        (
            "tolerance = 1e-6",
            "tolerance = 0; quick_params = [[3], ['a']]",
            "quick_params for 'n' must be a non-empty subset of params, but [3] is not in [1, 2]",
        ),
        (
            "tolerance = 1e-6",
            "tolerance = 0; requires = {'slow': 'torch'}",
            "requires['slow'] must be (import name, install hint)",
        ),
    ],
)
def test_malformed_benchmarks_name_file_and_line(tmp_path, replace, by, message) -> None:
    path = write(tmp_path, "bad", GOOD.replace(replace, by))
    [suite] = discover(tmp_path, ["bad"])
    assert suite.benchmarks == []
    assert suite.error is not None
    assert suite.error.startswith(f"{path}:2: benchmark Bench")
    assert message in suite.error


def test_import_errors_name_the_line(tmp_path) -> None:
    path = write(tmp_path, "broken", "import os\nraise ValueError('boom')\n")
    write(tmp_path, "syntax", "def f(:\n")
    suites = {s.name: s for s in discover(tmp_path, ["broken", "syntax"])}
    assert suites["broken"].error == (
        f"importing suite broken failed at {path}:2: ValueError: boom"
    )
    assert f"{tmp_path / 'syntax.py'}:1: SyntaxError" in str(suites["syntax"].error)


def test_suites_dir_resolution(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("WG_BENCH_SUITES", str(tmp_path))
    assert suites_dir() == tmp_path
    assert suites_dir(tmp_path / ".") == tmp_path
    with pytest.raises(SuiteError, match="from --suites"):
        suites_dir(tmp_path / "missing")
    monkeypatch.delenv("WG_BENCH_SUITES")
    assert suites_dir(tmp_path) == tmp_path


def test_a_suite_name_selects_only_that_suite(tmp_path) -> None:
    write(tmp_path, "online", GOOD)
    write(tmp_path, "online_extra", GOOD)
    assert [s.name for s in discover(tmp_path, ["online"])] == ["online"]
    assert [s.name for s in discover(tmp_path, ["online*"])] == ["online", "online_extra"]


def test_suite_paths_are_absolute_for_workers_elsewhere(tmp_path, monkeypatch) -> None:
    write(tmp_path, "alpha", GOOD)
    monkeypatch.chdir(tmp_path)
    [suite] = discover(Path("."), ["alpha"])
    assert suite.benchmarks[0].path == tmp_path / "alpha.py"
    assert suite.benchmarks[0].path.is_absolute()
