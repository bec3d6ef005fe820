"""The root ``wg`` command: a click group whose subcommands are imported only when invoked.

Each subcommand is a ``"module:attr"`` string plus its one-line help, so ``wg --help`` lists every
command without importing NumPy or any member's heavy dependency (see click's "lazy loading" docs).
"""

from __future__ import annotations

import difflib
import importlib

import click

from wg import __version__

#: name -> (import path of the click command, one-line description shown by ``wg --help``)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "bench": ("wg_bench.cli:bench", "Benchmark our libraries against PyTorch, JAX, autograd, VW."),
    "convnet": ("wg.convnet_cli:convnet", "Train conv nets and manage their datasets."),
    "license": ("wg_license.cli:license_group", "Check licence declarations; write an SPDX SBOM."),
    "meetings": ("wg_meetings.cli:meetings", "Generate, parse and check numbered meeting notes."),
    "online": ("wg.online_cli:online", "Train, predict and serve the online learner (VW format)."),
}


class LazyGroup(click.Group):
    """A click group that imports a subcommand's module only when that subcommand is used."""

    def __init__(self, *args: object, lazy: dict[str, tuple[str, str]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.lazy = dict(lazy)

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
        if name and not name.startswith("-") and self.get_command(ctx, name) is None:
            matches = difflib.get_close_matches(name, self.list_commands(ctx), n=1)
            hint = f" Did you mean {matches[0]!r}?" if matches else ""
            ctx.fail(f"No such command {name!r}.{hint} Run 'wg --help' to list the commands.")
        return super().resolve_command(ctx, args)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Descriptions come from the table, so listing commands imports nothing.
        rows = [(name, self.lazy[name][1]) for name in sorted(self.lazy)]
        rows += [
            (name, cmd.get_short_help_str(formatter.width))
            for name, cmd in sorted(self.commands.items())
        ]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(sorted(rows))

    def _load(self, cmd_name: str) -> click.Command:
        target, _ = self.lazy[cmd_name]
        module_name, attr = target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise click.ClickException(
                f"`wg {cmd_name}` needs the module {module_name!r}, which failed to import: {exc}. "
                "Reinstall the workspace with `uv sync --locked`."
            ) from exc
        command = getattr(module, attr)
        if not isinstance(command, click.Command):
            raise TypeError(f"{target} is {type(command).__name__}, not a click command")
        return command


@click.group(
    cls=LazyGroup,
    lazy=SUBCOMMANDS,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(__version__, "-V", "--version", prog_name="wg")
def main() -> None:
    """Tooling of the ML working group: benchmarks, licence checks and meeting notes."""
