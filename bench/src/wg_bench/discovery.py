"""Find suites and benchmarks, and expand them into the cells that a run measures.

A *suite* is a module ``bench/suites/<suite>.py``; a *benchmark* is any top-level class of it with a
``reference`` attribute (airspeed velocity style: discovered by name, no registration). A *cell* is
one (benchmark, parameter combination, implementation, device).
"""

from __future__ import annotations

import fnmatch
import importlib.util
import inspect
import itertools
import os
import sys
import traceback
import types
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wg_bench.targets import Target, TargetError, parse_baselines, parse_targets

#: the suites that ``wg bench run`` measures when no pattern is given
DEFAULT_SUITES = ("autodiff", "convnet", "online")
#: environment variable naming the suites folder (``--suites`` wins over it)
SUITES_ENV = "WG_BENCH_SUITES"
DEVICES = ("cpu", "cuda")
#: clocks a cell can be timed with: wall time, or the process CPU time of all its threads
TIMERS = ("wall", "cpu")
DEFAULT_TIMEOUT = 600.0


class SuiteError(Exception):
    """A suite file or benchmark class is malformed; the message says where and how to fix it."""


@dataclass(frozen=True)
class Benchmark:
    """One benchmark class, validated."""

    suite: str
    name: str
    path: Path
    line: int
    description: str
    param_names: tuple[str, ...]
    params: tuple[tuple[Any, ...], ...]
    quick_params: tuple[tuple[Any, ...], ...]
    implementations: tuple[str, ...]
    reference: str
    oracle: str
    tolerance: float
    timeout: float
    devices: tuple[str, ...]
    requires: dict[str, tuple[str, str]] = field(default_factory=dict)
    timer: str = "wall"  # or "cpu": process CPU time of all threads (asv's ``timer`` attribute)
    targets: tuple[Target, ...] = ()  # declared speed targets (see wg_bench.targets)
    baselines: tuple[str, ...] = ()  # neither ours nor peers: never the headline's peer
    full_only: tuple[str, ...] = ()  # implementations left out of --quick runs

    @property
    def qualname(self) -> str:
        """``suite.Benchmark``, the name patterns match against."""
        return f"{self.suite}.{self.name}"

    def param_grid(self, quick: bool = False) -> list[tuple[int, ...]]:
        """Index tuples into ``params`` of every cell (``quick_params`` when ``quick``)."""
        axes = self.quick_params if quick else self.params
        pairs = zip(self.params, axes, strict=True)
        index = [[values.index(v) for v in axis] for values, axis in pairs]
        return list(itertools.product(*index))

    def param_dict(self, indices: Sequence[int]) -> dict[str, Any]:
        """The parameter values at ``indices`` as ``{name: value}``."""
        pairs = enumerate(zip(self.param_names, indices, strict=True))
        return {name: self.params[k][i] for k, (name, i) in pairs}

    def missing_requirement(self, implementation: str) -> str | None:
        """Why ``implementation`` cannot run here (its library is missing), else None."""
        return missing_requirement(self.requires.get(implementation))


@dataclass
class Suite:
    """A suite file and its benchmarks; ``error`` is set when the file could not be loaded."""

    name: str
    path: Path
    benchmarks: list[Benchmark] = field(default_factory=list)
    error: str | None = None


def importable(module: str) -> bool:
    """Whether ``module`` can be imported here (found without importing it)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def missing_requirement(requirement: tuple[str, str] | None) -> str | None:
    """``"install with <hint> (<module> is not installed)"`` when a requirement is missing here.

    Examples
    --------
    >>> missing_requirement(("wg_no_such_module", "pip install x"))
    'install with pip install x (wg_no_such_module is not installed)'
    >>> missing_requirement(("json", "-")) is None, missing_requirement(None) is None
    (True, True)
    """
    if not requirement:
        return None
    module, hint = requirement
    return None if importable(module) else f"install with {hint} ({module} is not installed)"


def suites_dir(option: str | os.PathLike[str] | None = None) -> Path:
    """The suites folder: ``option``, else ``$WG_BENCH_SUITES``, else ``bench/suites`` of the repo.

    Examples
    --------
    >>> suites_dir("/tmp").as_posix()
    '/tmp'
    """
    chosen = option or os.environ.get(SUITES_ENV)
    path = Path(chosen) if chosen else Path(__file__).resolve().parents[2] / "suites"
    if not path.is_dir():
        how = "--suites" if option else SUITES_ENV if chosen else "the repository's bench/suites"
        raise SuiteError(
            f"suites folder {path} (from {how}) does not exist; pass `--suites DIR` or set "
            f"{SUITES_ENV} to the folder that holds the suite modules"
        )
    return path


def load_module(path: Path) -> types.ModuleType:
    """Import a suite file under a private module name, so suites never shadow real packages."""
    name = f"wg_bench_suite_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise SuiteError(f"{path}: not an importable Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[name]
        raise SuiteError(f"importing suite {path.stem} failed at {_where(exc, path)}") from exc
    return module


def _where(exc: BaseException, path: Path) -> str:
    if isinstance(exc, SyntaxError) and exc.lineno:
        # the broken file may be a module the suite imports, not the suite itself
        return f"{exc.filename or path}:{exc.lineno}: {type(exc).__name__}: {exc.msg}"
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename) == path]
    where = f"{path}:{frames[-1].lineno}" if frames else str(path)
    return f"{where}: {type(exc).__name__}: {exc}"


def load_suite(path: Path) -> Suite:
    """Load one suite file; errors are kept on the result, never raised."""
    suite = Suite(name=path.stem, path=path)
    try:
        module = load_module(path)
    except SuiteError as exc:
        suite.error = str(exc)
        return suite
    for name, obj in vars(module).items():
        # a class named _Like_this is a helper (a base several benchmarks share), never a benchmark
        if (
            inspect.isclass(obj)
            and not name.startswith("_")
            and hasattr(obj, "reference")
            and obj.__module__ == module.__name__
        ):
            try:
                suite.benchmarks.append(benchmark_from_class(suite.name, path, obj))
            except SuiteError as exc:
                suite.error = f"{suite.error}\n{exc}" if suite.error else str(exc)
    return suite


def discover(
    directory: Path, patterns: Iterable[str] = (), *, defaults: Sequence[str] = DEFAULT_SUITES
) -> list[Suite]:
    """Suites in ``directory`` selected by ``patterns`` (all default suites when there are none).

    A pattern that is a suite's name selects that whole suite (and nothing else); any other
    pattern selects the benchmarks whose ``suite.Benchmark`` name it matches as a glob
    (``autodiff.Gmm*``) or contains (case-insensitive).
    """
    patterns = list(patterns)
    # absolute paths: cells may run in another working directory (a Dask worker's)
    files = {
        p.stem: p.resolve() for p in sorted(directory.glob("*.py")) if not p.name.startswith("_")
    }
    if not patterns:
        names = [n for n in defaults if n in files] if defaults else list(files)
        if not names:
            raise SuiteError(
                f"{directory}: none of the default suites {', '.join(defaults)} exists; "
                "add bench/suites/<suite>.py or name a suite"
            )
        return [load_suite(files[n]) for n in names]
    selected: list[Suite] = []
    others = [p for p in patterns if p not in files]
    for name, path in files.items():
        suite_hit = name in patterns
        if not suite_hit and not any(_could_match(p, name) for p in others):
            continue
        suite = load_suite(path)
        if not suite_hit:
            suite.benchmarks = [b for b in suite.benchmarks if any(_matches(p, b) for p in others)]
            if not suite.benchmarks and suite.error is None:
                continue
        selected.append(suite)
    unmatched = [p for p in patterns if not any(_selected_by(p, s) for s in selected)]
    if unmatched:
        raise SuiteError(
            f"no suite or benchmark in {directory} matches {', '.join(map(repr, unmatched))}; "
            "`wg bench list` shows what exists"
        )
    return selected


def _could_match(pattern: str, suite: str) -> bool:
    head = pattern.split(".", 1)[0]
    return "." not in pattern or fnmatch.fnmatch(suite, head) or head.lower() in suite.lower()


def _matches(pattern: str, bench: Benchmark) -> bool:
    name = bench.qualname
    return fnmatch.fnmatch(name, pattern) or pattern.lower() in name.lower()


def _selected_by(pattern: str, suite: Suite) -> bool:
    return (
        pattern == suite.name
        or any(_matches(pattern, b) for b in suite.benchmarks)
        or (suite.error is not None and _could_match(pattern, suite.name))
    )


def benchmark_from_class(suite: str, path: Path, cls: type) -> Benchmark:
    """Validate a benchmark class; every problem is a :class:`SuiteError` naming file:line."""
    try:
        line = inspect.getsourcelines(cls)[1]
    except (OSError, TypeError):
        line = 0
    where = f"{path}:{line}: benchmark {cls.__name__}"
    impls = tuple(
        n[len("impl_") :] for n in dir(cls) if n.startswith("impl_") and callable(getattr(cls, n))
    )
    if not impls:
        raise SuiteError(f"{where} has no impl_<name> method; add one per implementation")
    reference = cls.reference  # type: ignore[attr-defined]
    oracle = getattr(cls, "oracle", reference)
    for role, value in (("reference", reference), ("oracle", oracle)):
        if value not in impls:
            raise SuiteError(
                f"{where}: {role} = {value!r} but there is no impl_{value}; "
                f"choose one of {', '.join(impls)}"
            )
    names, params = _params(cls, where)
    quick = _quick_params(cls, where, names, params)
    tolerance, timeout, devices = _settings(cls, where)
    timer = getattr(cls, "timer", "wall")
    if timer not in TIMERS:
        raise SuiteError(f"{where}: timer must be one of {', '.join(TIMERS)}, got {timer!r}")
    requires = _requires(cls, where)
    targets, baselines = _targets(cls, where, impls, dict(zip(names, params, strict=True)))
    full_only = _full_only(cls, where, impls, (reference, oracle))
    doc = inspect.getdoc(cls) or ""
    return Benchmark(
        suite=suite,
        name=cls.__name__,
        path=path,
        line=line,
        description=" ".join(doc.split("\n\n", 1)[0].split()),
        param_names=names,
        params=params,
        quick_params=quick,
        implementations=_order(impls, reference, oracle),
        reference=reference,
        oracle=oracle,
        tolerance=tolerance,
        timeout=timeout,
        devices=devices,
        requires=requires,
        timer=timer,
        targets=targets,
        baselines=baselines,
        full_only=full_only,
    )


def _settings(cls: type, where: str) -> tuple[float, float, tuple[str, ...]]:
    """``tolerance``, ``timeout`` and ``devices``, checked."""
    tolerance = getattr(cls, "tolerance", None)
    if isinstance(tolerance, bool) or not isinstance(tolerance, int | float) or tolerance < 0:
        raise SuiteError(f"{where}: tolerance must be a number >= 0, got {tolerance!r}")
    timeout = getattr(cls, "timeout", DEFAULT_TIMEOUT)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise SuiteError(f"{where}: timeout must be a number of seconds > 0, got {timeout!r}")
    devices = tuple(getattr(cls, "devices", ("cpu",)))
    bad = [d for d in devices if d not in DEVICES]
    if bad:
        raise SuiteError(f"{where}: unknown device(s) {bad}; use 'cpu' and/or 'cuda'")
    return float(tolerance), float(timeout), devices


Roles = tuple[tuple[Target, ...], tuple[str, ...]]


def _targets(
    cls: type, where: str, impls: Sequence[str], axes: dict[str, tuple[Any, ...]]
) -> Roles:
    """``targets`` and ``baselines``, checked against the implementations and parameters."""
    try:
        return (parse_targets(getattr(cls, "targets", None), impls, axes),
                parse_baselines(getattr(cls, "baselines", None), impls))  # fmt: skip
    except TargetError as exc:
        raise SuiteError(f"{where}: {exc}") from None


def _full_only(
    cls: type, where: str, impls: Sequence[str], needed: tuple[str, str]
) -> tuple[str, ...]:
    """``full_only``: implementations a ``--quick`` run leaves out (never the reference/oracle)."""
    raw = getattr(cls, "full_only", ())
    if isinstance(raw, str) or not isinstance(raw, list | tuple):
        raise SuiteError(f"{where}: full_only must be a tuple of implementation names, got {raw!r}")
    for name in raw:
        if name not in impls or name in needed:
            choices = ", ".join(i for i in impls if i not in needed)
            raise SuiteError(
                f"{where}: full_only names {name!r}, which is not an implementation other than "
                f"the reference and oracle; choose from {choices}"
            )
    return tuple(raw)


def _requires(cls: type, where: str) -> dict[str, tuple[str, str]]:
    requires = dict(getattr(cls, "requires", {}) or {})
    for impl, spec in requires.items():
        if not (isinstance(spec, tuple | list) and len(spec) == 2):
            raise SuiteError(
                f"{where}: requires[{impl!r}] must be (import name, install hint), got {spec!r}"
            )
    return {k: (str(v[0]), str(v[1])) for k, v in requires.items()}


def _order(impls: tuple[str, ...], reference: str, oracle: str) -> tuple[str, ...]:
    """Oracle first (its output is cached for the others), then the reference, then the rest."""
    head = [oracle] if oracle == reference else [oracle, reference]
    return (*head, *sorted(i for i in impls if i not in head))


def _params(cls: type, where: str) -> tuple[tuple[str, ...], tuple[tuple[Any, ...], ...]]:
    params = getattr(cls, "params", None)
    names = tuple(getattr(cls, "param_names", ()) or ())
    if params is None or params == []:
        if names:
            raise SuiteError(f"{where}: param_names without params")
        return (), ()
    if not isinstance(params, list | tuple):
        raise SuiteError(f"{where}: params must be a list of lists, got {type(params).__name__}")
    if not all(isinstance(p, list | tuple) for p in params):
        params = [params]  # asv: a flat list is the values of one parameter
    if len(names) != len(params):
        raise SuiteError(
            f"{where}: {len(params)} parameter list(s) in params but {len(names)} param_names; "
            "give one name per list"
        )
    if any(len(p) == 0 for p in params):
        raise SuiteError(f"{where}: every parameter needs at least one value")
    return tuple(map(str, names)), tuple(tuple(p) for p in params)


def _quick_params(
    cls: type, where: str, names: tuple[str, ...], params: tuple[tuple[Any, ...], ...]
) -> tuple[tuple[Any, ...], ...]:
    quick = getattr(cls, "quick_params", None)
    if quick is None:
        return params
    if not all(isinstance(p, list | tuple) for p in quick):
        quick = [quick]
    if len(quick) != len(params):
        raise SuiteError(f"{where}: quick_params needs {len(params)} list(s), one per parameter")
    for name, values, subset in zip(names, params, quick, strict=True):
        extra = [v for v in subset if v not in values]
        if extra or not subset:
            raise SuiteError(
                f"{where}: quick_params for {name!r} must be a non-empty subset of params, "
                f"but {extra!r} is not in {list(values)!r}"
            )
    return tuple(tuple(p) for p in quick)


def suite_module(name: str, directory: str | os.PathLike[str] | None = None) -> types.ModuleType:
    """The imported module of suite ``name`` (from :func:`suites_dir`), for developer scripts
    (root ``tools/``) that drive a benchmark class by hand; never load a suite by file path.

    Examples
    --------
    >>> suite_module("no_such_suite", "/tmp")
    Traceback (most recent call last):
    ...
    wg_bench.discovery.SuiteError: no suite 'no_such_suite' in /tmp; `wg bench list` shows them
    """
    folder = suites_dir(directory)
    path = folder / f"{name}.py"
    if name.startswith("_") or "/" in name or not path.is_file():
        raise SuiteError(f"no suite {name!r} in {folder}; `wg bench list` shows them")
    return load_module(path.resolve())
