"""The root ``wg`` group: help, version, unknown commands, lazy imports."""

from __future__ import annotations

import re
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from wg import __version__
from wg import cli as wg_cli
from wg.cli import MEMBERS, SUBCOMMANDS, main


def _all_command_paths() -> list[list[str]]:
    """Every command path below ``wg``, e.g. ``["bench", "run"]``, found by walking the groups."""
    paths: list[list[str]] = []
    ctx = click.Context(main)

    def walk(group: click.Group, prefix: list[str], ctx: click.Context) -> None:
        for name in group.list_commands(ctx):
            command = group.get_command(ctx, name)
            assert command is not None, f"{' '.join([*prefix, name])} is listed but does not load"
            paths.append([*prefix, name])
            if isinstance(command, click.Group):
                walk(command, [*prefix, name], click.Context(command, parent=ctx))

    walk(main, [], ctx)
    return paths


def test_help_lists_every_subcommand_with_its_description() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0, result.output
    for name, (_, description, _) in SUBCOMMANDS.items():
        line = next(line for line in result.output.splitlines() if line.strip().startswith(name))
        assert description[:30] in " ".join(result.output.split()), line


def test_version_lists_each_installed_member() -> None:
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0] == f"wg, version {__version__}"
    assert [line.split()[0] for line in lines[1:]] == list(MEMBERS)
    assert all(re.fullmatch(r"  wg-[a-z]+ \d+\.\d+\.\d+\S*", line) for line in lines[1:])


def test_a_missing_tool_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(wg_cli, "installed", lambda distribution: distribution != "wg-bench")
    group = wg_cli.LazyGroup(lazy=SUBCOMMANDS, name="wg")
    result = CliRunner().invoke(group, ["bench", "run"])
    assert result.exit_code == 2
    assert (
        result.output
        == "Error: `wg bench` needs wg-bench, which is not installed: pip install wg-bench\n"
    )
    listing = CliRunner().invoke(group, ["--help"]).output
    assert "  license" in listing
    assert "  bench" not in listing


def test_unknown_command_is_a_usage_error_with_a_suggestion() -> None:
    result = CliRunner().invoke(main, ["bnech"])
    assert result.exit_code == 2
    assert "No such command 'bnech'. Did you mean 'bench'?" in result.output


def test_unknown_command_without_close_match() -> None:
    result = CliRunner().invoke(main, ["zzzzzz"])
    assert result.exit_code == 2
    assert "No such command 'zzzzzz'." in result.output
    assert "Did you mean" not in result.output


@pytest.mark.parametrize("path", _all_command_paths(), ids=" ".join)
def test_help_of_every_command_exits_zero(path: list[str]) -> None:
    result = CliRunner().invoke(main, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage: " in result.output


def test_every_subcommand_target_is_a_click_command() -> None:
    ctx = click.Context(main)
    for name in SUBCOMMANDS:
        assert isinstance(main.get_command(ctx, name), click.Command)


def test_help_imports_no_heavy_module() -> None:
    code = (
        "import sys\n"
        "from wg.cli import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = {'numpy', 'numba', 'scipy', 'matplotlib', 'spdx_tools', 'torch', 'jax', 'yaml',\n"
        "         'rich', 'license_expression', 'icalendar'}\n"
        "loaded = sorted(heavy & {m.split('.')[0] for m in sys.modules})\n"
        "print('LOADED', loaded)\n"
        "print('WG', sorted(m for m in sys.modules if m.startswith('wg')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert "LOADED []" in out
    assert "WG ['wg', 'wg.cli']" in out


def test_python_dash_m_wg() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "wg", "--version"], capture_output=True, text=True, check=True
    )
    assert out.stdout.splitlines()[0] == f"wg, version {__version__}"


def test_stdout_on_a_full_disk_is_one_line() -> None:
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [sys.executable, "-m", "wg", "--help"], stdout=full, stderr=subprocess.PIPE, text=True
        )
    assert done.returncode == 1
    assert done.stderr == (
        "wg: cannot write standard output: No space left on device "
        "(the disk is full: free some space or write to another disk)\n"
    )


@pytest.mark.parametrize(
    ("module", "script", "word"),
    [
        ("wg_license", "wg-license", "sbom"),
        ("wg_meetings", "wg-meetings", "ics"),
        ("wg_bench", "wg-bench", "compare"),
    ],
)
def test_each_tool_runs_on_its_own(module: str, script: str, word: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", module, "--help"], capture_output=True, text=True, check=True
    )
    assert done.stdout.startswith(f"Usage: {script} [OPTIONS] COMMAND [ARGS]...")
    assert f"  {word}" in done.stdout
