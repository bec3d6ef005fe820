"""``wg bench run --against REV``: the working tree against a git revision, as ``asv continuous``.

The revision is checked out into a temporary ``git worktree add --detach`` folder, removed again
however the run ends (Ctrl-C, SIGTERM and SIGHUP included: they are only recorded while the
folder is made and removed). Both sides run in the *current* environment; each cell process gets
its side's workspace member ``src`` folders first on ``PYTHONPATH``, so the revision's cells
import the revision's libraries, while the measuring instrument (:data:`HARNESS`: ``wg_bench``
and ``wg_io``, which it writes through) stays today's on both sides. Before any cell runs, a
probe process per side loads the selected suite files with that side's path and checks where
the member packages they import come from: a suite that does not load at the revision (a
library that does not import there, a name the suite needs that the revision lacks) skips that
side's cells with the reason, and so does a member package imported from outside the side's
folders (the revision lacks it, or an installed copy shadows it).

Both sides' cells run interleaved, each in a fresh process, in the rounds of
:func:`wg_bench.plan.interleave` (the same implementation of both sides back to back, the order
reversed every other round); each side is then one results document, and
:func:`wg_bench.compare.compare` (revision = old, working tree = new) judges every cell.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from wg_io.structure import InputError, load_toml

from wg_bench import compare as comparing
from wg_bench.discovery import Suite, discover
from wg_bench.interruption import stop_signals
from wg_bench.machine import fingerprint, thread_env
from wg_bench.plan import CellPlan, Settings, Task, build_cells, interleave
from wg_bench.protocol import CellResult
from wg_bench.runner import Callback, RunError, RunState, execute_tasks, local_executor

#: packages of the measuring instrument: always today's, on both sides
HARNESS = ("wg_bench", "wg_io")
#: the verdicts ``--against`` prints (significant changes and breakages)
SIGNIFICANT = ("slower", "faster", "broken", "fixed")
SUITES_CHOICES = ("current", "rev")
PROBE_TIMEOUT = 600.0

# runs in a side's environment: which suites load there, and where the member packages they
# imported (of either side) came from
_PROBE = """
import json, sys
from pathlib import Path
from wg_bench.discovery import load_suite
suites, names = json.loads(sys.argv[1])
errors = {path: load_suite(Path(path)).error for path in suites}
loaded = {n: getattr(sys.modules[n], "__file__", None) for n in names if n in sys.modules}
print(json.dumps({"errors": errors, "origins": loaded}))
"""


class AgainstError(Exception):
    """The revision cannot be compared (no git, no such commit, ...); says how to fix it."""


@dataclass(frozen=True)
class Side:
    """One side of the A/B: its name (``rev`` or ``current``), a label for people, and the
    member ``src`` folders its cells import first."""

    name: str
    label: str
    python_path: tuple[str, ...]


@dataclass
class AgainstOutcome:
    """Both sides' run states (``rev`` and ``current``), notes for the user, interruption."""

    sides: dict[str, Side]
    states: dict[str, RunState]
    notes: list[str] = field(default_factory=list)
    interrupted: bool = False
    signal: str | None = None

    def documents(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """The revision's and the working tree's results documents (old, new)."""
        rev, current = (next(iter(self.states[s].documents().values())) for s in ("rev", "current"))
        return rev, current

    def changes(self, alpha: float, min_effect: float) -> list[comparing.Row]:
        """Every cell judged by :func:`wg_bench.compare.compare`, revision = old."""
        old, new = self.documents()
        return comparing.compare(old, new, alpha=alpha, min_effect=min_effect)


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    if shutil.which("git") is None:
        raise AgainstError("--against needs git, which is not on PATH; install git")
    command = ["git", "-C", str(repo), *args]
    return subprocess.run(command, capture_output=True, text=True, check=False)


def _last_line(done: subprocess.CompletedProcess[str]) -> str:
    lines = (done.stderr or done.stdout).strip().splitlines()
    return lines[-1] if lines else f"git exited with status {done.returncode}"


def repository(folder: Path) -> Path:
    """The top folder of the git repository that holds ``folder``."""
    done = _git(folder, "rev-parse", "--show-toplevel")
    if done.returncode != 0:
        raise AgainstError(
            f"--against: {folder} is not inside a git repository ({_last_line(done)}); run from "
            "a clone, or point --suites at a suites folder inside one"
        )
    return Path(done.stdout.strip())


def resolve(repo: Path, rev: str) -> str:
    """The full hash of the commit ``rev`` names in ``repo``."""
    done = None
    if rev and not rev.startswith("-"):
        commit = f"{rev}^{{commit}}"
        done = _git(repo, "rev-parse", "--verify", "--quiet", "--end-of-options", commit)
    if done is None or done.returncode != 0:
        raise AgainstError(
            f"--against {rev!r}: no such commit in {repo}; name a commit, branch or tag "
            "(`git log --oneline` lists them)"
        )
    return done.stdout.strip()


def member_sources(root: Path, name: str | None = None) -> list[Path]:
    """The ``src`` folders of the uv workspace at ``root``, the harness's excluded.

    The root project's ``src`` and each ``[tool.uv.workspace] members`` entry (globs allowed) of
    ``root/pyproject.toml`` that has one; ``name`` is how messages call that file (a temporary
    checkout's path means nothing to the user).

    Examples
    --------
    >>> member_sources(Path("/nonexistent"))
    []
    """
    folders = [root]
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        try:
            data = load_toml(pyproject.read_text(encoding="utf-8"), name or pyproject)
        except (InputError, OSError, UnicodeDecodeError) as exc:
            raise AgainstError(f"--against: cannot read the workspace members: {exc}") from None
        members = data.get("tool", {}).get("uv", {}).get("workspace", {}).get("members", [])
        if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
            raise AgainstError(
                f"{name or pyproject}: [tool.uv.workspace] members must be a list of folder globs"
            )
        folders += [f for pattern in members for f in sorted(root.glob(pattern))]
    sources = [f / "src" for f in folders if (f / "src").is_dir()]
    return [s for s in sources if not any((s / name).exists() for name in HARNESS)]


def packages(sources: Sequence[str]) -> list[str]:
    """The top-level packages and modules in the ``sources`` folders."""
    found = []
    for folder in map(Path, sources):
        for entry in sorted(folder.iterdir()):
            if (entry / "__init__.py").is_file() or entry.suffix == ".py":
                found.append(entry.stem if entry.suffix == ".py" else entry.name)
    return found


def uncommitted(repo: Path, sources: Sequence[str]) -> list[str]:
    """Files with uncommitted changes under the ``sources`` folders of ``repo``."""
    done = _git(repo, "status", "--porcelain", "--", *sources)
    return [line[3:] for line in done.stdout.splitlines()] if done.returncode == 0 else []


@contextmanager
def checkout(repo: Path, sha: str) -> Iterator[Path]:
    """``sha`` checked out (detached) in a temporary worktree, removed on leaving the block."""
    parent = Path(tempfile.mkdtemp(prefix="wg-bench-against-"))
    tree = parent / "tree"
    try:
        done = _git(repo, "worktree", "add", "--detach", "--quiet", str(tree), sha)
        if done.returncode != 0:
            raise AgainstError(
                f"--against: git could not check out {sha[:10]} into {tree}: {_last_line(done)}"
            )
        yield tree
    finally:
        _git(repo, "worktree", "remove", "--force", str(tree))
        shutil.rmtree(parent, ignore_errors=True)
        _git(repo, "worktree", "prune")


def probe(side: Side, suite_paths: Sequence[Path], names: Sequence[str],
          env: dict[str, str]) -> dict[Path, str]:  # fmt: skip
    """Why each suite's cells cannot run on ``side`` ({suite file: reason}; empty: all can).

    A suite that does not load with the side's path gives its load error. So does a member
    package of either side (``names``) that the suites imported from outside the side's own
    folders (the revision lacks it, or an installed copy shadows it): the cells would time
    another revision's code than the side's.
    """
    path = os.pathsep.join([*side.python_path, *filter(None, [env.get("PYTHONPATH")])])
    argument = json.dumps([[str(p) for p in suite_paths], list(names)])
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, argument], env={**env, "PYTHONPATH": path},
        capture_output=True, text=True, timeout=PROBE_TIMEOUT, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        reason = f"at {side.label} the harness cannot start: {_last_line(done)}"
        return dict.fromkeys(suite_paths, reason)
    found = json.loads(done.stdout.strip().splitlines()[-1])
    strays = [
        f"{name} was imported from {origin}, not from {side.label}'s sources"
        for name, origin in found["origins"].items()
        if not any(str(origin).startswith(f"{s}{os.sep}") for s in side.python_path)
    ]
    reasons = {}
    for suite in suite_paths:
        detail = found["errors"].get(str(suite)) or "; ".join(strays)
        if detail:
            reasons[suite] = f"at {side.label} the suite does not load: {detail}"
    return reasons


@contextmanager
def _importing(folders: Sequence[str]) -> Iterator[None]:
    """``folders`` first on ``sys.path`` while the suites are discovered in this process (their
    modules import the libraries at their top), as the cells of that side will have them."""
    added = [f for f in folders if f not in sys.path]
    sys.path[:0] = added
    importlib.invalidate_caches()
    try:
        yield
    finally:
        for folder in added:
            sys.path.remove(folder)


def _sided_cells(cells: Sequence[CellPlan], skips: dict[str, dict[Path, str]]) -> list[CellPlan]:
    """Each cell twice, revision first, each with its side's skip reason (if any)."""
    sided = []
    for cell in cells:
        for side in ("rev", "current"):
            why = cell.skip or skips[side].get(cell.bench.path)
            sided.append(dataclasses.replace(cell, side=side, skip=why))
    return sided


def _side_task(task: Task, side: Side) -> Task:
    """The task with its side's import path and its own oracle cache (no output crosses sides)."""
    cache = f"{task.spec.oracle_cache}.{side.name}" if task.spec.oracle_cache else None
    spec = dataclasses.replace(task.spec, python_path=side.python_path, oracle_cache=cache)
    return dataclasses.replace(task, spec=spec)


def _notes(repo: Path, rev: str, sha: str, current: Side) -> list[str]:
    relative = [str(Path(s).relative_to(repo)) for s in current.python_path]
    dirty = uncommitted(repo, relative)
    head = _git(repo, "rev-parse", "--verify", "--quiet", "HEAD").stdout.strip()
    if dirty:
        return [
            f"the working tree side includes uncommitted changes to {len(dirty)} file(s) under "
            f"member sources (e.g. {dirty[0]}): they are part of what is measured"
        ]
    if head == sha:
        return [f"{rev} is HEAD and the member sources have no uncommitted change: both sides "
                "run the same code, so any change reported is noise"]  # fmt: skip
    return []


def run_against(
    rev: str,
    suites_root: Path,
    patterns: Sequence[str],
    settings: Settings,
    *,
    implementations: Sequence[str] = (),
    rev_suites: bool = False,
    on_plan: Callable[[list[Task], list[CellPlan]], None] | None = None,
    on_done: Callback | None = None,
    command: str = "",
) -> AgainstOutcome:
    """Measure the selected cells at ``rev`` and in the working tree, interleaved.

    ``suites_root`` is the suites folder of the working tree; with ``rev_suites`` both sides use
    the revision's copy of it instead. Raises :class:`AgainstError` for a missing git, a folder
    outside a repository or an unknown revision; the worktree is removed whatever happens.
    """
    repo = repository(suites_root)
    sha = resolve(repo, rev)
    env = thread_env(settings.threads)
    full_env = {**os.environ, **env}
    label = f"{rev} ({sha[:10]})"
    with stop_signals() as stop, checkout(repo, sha) as tree:
        sides = _sides(repo, tree, label)
        suites = _suites(sides, repo, tree, suites_root, patterns, rev if rev_suites else None)
        cells = build_cells(suites, settings.device, settings.quick, implementations)
        if not cells:
            broken = "; ".join(str(s.error) for s in suites if s.error)
            raise RunError(broken or "the selected suites hold no benchmark; `wg bench list` "
                           "shows them")  # fmt: skip
        paths = sorted({c.bench.path for c in cells})
        names = sorted({n for side in sides.values() for n in packages(side.python_path)})
        skips = {name: probe(side, paths, names, full_env) for name, side in sides.items()}
        sided = _sided_cells(cells, skips)
        outcome = _outcome(repo, rev, sha, sides, suites, sided, settings, env, command)
        with tempfile.TemporaryDirectory(prefix="wg-bench-run-") as cache:
            planned = interleave(sided, settings, Path(cache))
            tasks = [_side_task(t, sides[t.cell.side]) for t in planned]
            if on_plan is not None:
                on_plan(tasks, sided)
            outcome.interrupted = _measure(outcome, tasks, env, stop, on_done)
    outcome.signal = stop.name
    outcome.interrupted = outcome.interrupted or stop.signum is not None
    return outcome


def _sides(repo: Path, tree: Path, label: str) -> dict[str, Side]:
    """The revision's side (the checkout at ``tree``) and the working tree's."""
    rev = tuple(map(str, member_sources(tree, f"{label}:pyproject.toml")))
    current = tuple(map(str, member_sources(repo)))
    return {"rev": Side("rev", label, rev), "current": Side("current", "the working tree", current)}


def _suites(sides: dict[str, Side], repo: Path, tree: Path, suites_root: Path,
            patterns: Sequence[str], rev: str | None) -> list[Suite]:  # fmt: skip
    """The selected suites: the working tree's, or with ``rev`` the revision's copy of them."""
    folder = suites_root
    if rev is not None:
        relative = suites_root.resolve().relative_to(repo.resolve())
        folder = tree / relative
        if not folder.is_dir():
            raise AgainstError(
                f"--against-suites rev: {rev} has no {relative} folder; use the working tree's "
                "suites (--against-suites current)"
            )
    with _importing(sides["current" if rev is None else "rev"].python_path):
        return discover(folder, patterns)


def _outcome(repo: Path, rev: str, sha: str, sides: dict[str, Side], suites: Any,
             cells: list[CellPlan], settings: Settings, env: dict[str, str],
             command: str) -> AgainstOutcome:  # fmt: skip
    """Empty run states of both sides (``cells``: both sides' cells), sharing one machine
    fingerprint (git: each side's commit)."""
    machine = fingerprint(repo, {**os.environ, **env})
    errors = [{"suite": s.name, "reason": str(s.error)} for s in suites if s.error]
    states = {}
    for name in ("rev", "current"):
        git = {"commit": sha, "dirty": False} if name == "rev" else machine.get("git")
        mine = [c for c in cells if c.side == name]
        states[name] = RunState(mine, settings, {**machine, "git": git}, command)
        states[name].errors = errors
    return AgainstOutcome(sides, states, _notes(repo, rev, sha, sides["current"]))


def _measure(outcome: AgainstOutcome, tasks: list[Task], env: dict[str, str], stop: Any,
             on_done: Callback | None) -> bool:  # fmt: skip
    """Run the tasks in order; True when a stop signal or Ctrl-C ended them early."""

    def done(task: Task, result: CellResult) -> None:
        outcome.states[task.cell.side].record(task, result)
        if on_done is not None:
            on_done(task, result)

    def settled(task: Task) -> bool:
        if not outcome.states[task.cell.side].settled(task.cell.key):
            return False
        if on_done is not None:
            on_done(task, CellResult("settled", "decided in an earlier round"))
        return True

    executor = partial(local_executor, skip=settled)
    return execute_tasks(executor, tasks, env, done, stop)
