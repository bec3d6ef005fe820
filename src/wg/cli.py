"""The root ``wg`` command: a click group whose subcommands are imported only when invoked.

Each subcommand is a ``"module:attr"`` string plus its one-line help and the distribution that
provides it, so ``wg --help`` lists the installed commands without importing NumPy or any member's
heavy dependency (see click's "lazy loading" docs), and a command whose distribution is missing
says how to install it.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.metadata
import importlib.util
from typing import NamedTuple

import click

from wg import __version__


class Subcommand(NamedTuple):
    """A lazily imported subcommand of ``wg``."""

    target: str  #: import path of the click command, ``"module:attr"``
    description: str  #: one line shown by ``wg --help``
    distribution: str  #: the distribution that must be installed for it


SUBCOMMANDS: dict[str, Subcommand] = {
    "bench": Subcommand(
        "wg_bench.cli:bench",
        "Benchmark our libraries against PyTorch, JAX, autograd, VW.",
        "wg-bench",
    ),
    "convnet": Subcommand(
        "wg.convnet_cli:convnet", "Train conv nets and manage their datasets.", "wg-convnet"
    ),
    "license": Subcommand(
        "wg_license.cli:license_group",
        "Check licence declarations; write an SPDX SBOM.",
        "wg-license",
    ),
    "meetings": Subcommand(
        "wg_meetings.cli:meetings",
        "Generate, parse and check numbered meeting notes.",
        "wg-meetings",
    ),
    "online": Subcommand(
        "wg.online_cli:online",
        "Train, predict and serve the online learner (VW format).",
        "wg-online",
    ),
}

#: The workspace's distributions whose versions ``wg --version`` shows.
MEMBERS = (
    "wg-io",
    "wg-autodiff",
    "wg-convnet",
    "wg-online",
    "wg-bench",
    "wg-license",
    "wg-meetings",
)


def installed(distribution: str) -> bool:
    """Whether ``distribution``'s import package can be found (nothing is imported).

    Examples
    --------
    >>> installed("wg-io"), installed("wg-no-such-member")
    (True, False)
    """
    return importlib.util.find_spec(distribution.replace("-", "_")) is not None


def version_text() -> str:
    """``wg``'s version line, then one line per installed member: ``wg-online 0.1.0``."""
    lines = [f"wg, version {__version__}"]
    for name in MEMBERS:
        try:
            lines.append(f"  {name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            continue
    return "\n".join(lines)


class LazyGroup(click.Group):
    """A click group that imports a subcommand's module only when that subcommand is used."""

    def __init__(self, *args: object, lazy: dict[str, Subcommand], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.lazy = {name: sub for name, sub in lazy.items() if installed(sub.distribution)}
        self.missing = {name: sub for name, sub in lazy.items() if name not in self.lazy}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy:
            return self._load(cmd_name)
        return super().get_command(ctx, cmd_name)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0] if args else ""
        if name in self.missing:
            wanted = self.missing[name].distribution
            click.echo(
                f"Error: `wg {name}` needs {wanted}, which is not installed: pip install {wanted}",
                err=True,
            )
            ctx.exit(2)
        if name and not name.startswith("-") and self.get_command(ctx, name) is None:
            matches = difflib.get_close_matches(name, self.list_commands(ctx), n=1)
            hint = f" Did you mean {matches[0]!r}?" if matches else ""
            ctx.fail(f"No such command {name!r}.{hint} Run 'wg --help' to list the commands.")
        return super().resolve_command(ctx, args)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Descriptions come from the table, so listing commands imports nothing.
        rows = [(name, self.lazy[name].description) for name in sorted(self.lazy)]
        rows += [
            (name, cmd.get_short_help_str(formatter.width))
            for name, cmd in sorted(self.commands.items())
        ]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(sorted(rows))

    def _load(self, cmd_name: str) -> click.Command:
        module_name, attr = self.lazy[cmd_name].target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise click.ClickException(
                f"`wg {cmd_name}` needs the module {module_name!r}, which failed to import: {exc}. "
                "Reinstall the workspace with `uv sync --locked`."
            ) from exc
        command = getattr(module, attr)
        if not isinstance(command, click.Command):
            raise TypeError(
                f"{module_name}:{attr} is {type(command).__name__}, not a click command"
            )
        return command


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        click.echo(version_text())
        ctx.exit()


@click.group(
    cls=LazyGroup,
    lazy=SUBCOMMANDS,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.option(
    "-V",
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help="Show the version of wg and of each installed member, then exit.",
)
def main() -> None:
    """Tooling of the ML working group: benchmarks, licence checks and meeting notes."""


def run() -> None:
    """The ``wg`` console script: ``main`` with a failed write to stdout reported in one line."""
    from wg_io.streams import run_command

    run_command(main, "wg")
