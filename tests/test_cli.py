"""The root ``wg`` group: help, version, unknown commands, lazy imports."""

from __future__ import annotations

import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from wg import __version__
from wg.cli import SUBCOMMANDS, main


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
    for name, (_, description) in SUBCOMMANDS.items():
        line = next(line for line in result.output.splitlines() if line.strip().startswith(name))
        assert description[:30] in " ".join(result.output.split()), line


def test_version() -> None:
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"wg, version {__version__}"


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
    assert out.stdout.strip() == f"wg, version {__version__}"
