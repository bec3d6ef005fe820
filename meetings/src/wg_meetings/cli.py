"""``wg meetings``: generate, parse and check numbered meeting notes."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click
from wg_io.output import OutputError
from wg_io.structure import InputError

from wg_meetings.errors import MeetingsError
from wg_meetings.report import check_report, parse_report

if TYPE_CHECKING:
    from wg_meetings.config import Config


@contextmanager
def _user_errors() -> Iterator[None]:
    try:
        yield
    except (MeetingsError, OutputError, InputError) as exc:
        raise click.ClickException(str(exc)) from exc


def _config(ctx: click.Context) -> Config:
    from wg_meetings.config import find_config, load_config  # PyYAML only when a command needs it

    path = ctx.obj or find_config()
    return load_config(path)


class Day(click.ParamType):
    """A calendar day written ``YYYY-MM-DD``; one that does not exist (2021-02-30) says so."""

    name = "YYYY-MM-DD"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> dt.date:
        if isinstance(value, dt.date):
            return value
        text = str(value)
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
            shown = repr(text) if len(text) <= 40 else repr(text[:37]) + "..."
            self.fail(f"{shown} is not written YYYY-MM-DD (e.g. 2027-03-10)", param, ctx)
        try:
            return dt.date.fromisoformat(text)
        except ValueError as exc:
            self.fail(f"{text} is not a day of the calendar ({exc}); give a real date", param, ctx)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="The group's wg.yaml (default: $WG_MEETINGS_CONFIG, else meetings/wg.yaml or wg.yaml "
    "here or in a parent folder).",
)
@click.pass_context
def meetings(ctx: click.Context, config_path: Path | None) -> None:
    """Generate, parse and check numbered meeting notes."""
    ctx.obj = config_path


@meetings.command()
@click.option(
    "--date",
    "day",
    type=Day(),
    help="Meeting date (YYYY-MM-DD; default: the next one on the schedule).",
)
@click.option(
    "--agenda",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Agenda YAML: a list of items (text, or title/owner/link/items).",
)
@click.option("--dry-run", is_flag=True, help="Print the notes instead of writing the file.")
@click.pass_context
def new(ctx: click.Context, day: dt.date | None, agenda: Path | None, dry_run: bool) -> None:
    """Write the next meeting's notes, carrying open action items forward."""
    from wg_meetings.new import new_meeting, write_new

    with _user_errors():
        notes = new_meeting(_config(ctx), day, agenda)
        if not dry_run:
            write_new(notes)
    for message in notes.messages:
        click.echo(f"note: {message}", err=True)
    click.echo(notes.text if dry_run else f"wrote {notes.path}", nl=not dry_run)


@meetings.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list, one object per file.")
def parse(files: tuple[Path, ...], as_json: bool) -> None:
    """Parse notes files into their structured model."""
    with _user_errors():
        click.echo(parse_report(list(files), as_json))


@meetings.command()
@click.argument("directory", required=False, type=click.Path(path_type=Path, file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the findings as a JSON list.")
@click.option(
    "--expect",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Pass only when the findings are exactly those listed in this file.",
)
@click.pass_context
def check(ctx: click.Context, directory: Path | None, as_json: bool, expect: Path | None) -> None:
    """Lint a folder of notes (default: the group's notes); exit 1 on errors."""
    with _user_errors():
        folder = directory if directory is not None else _config(ctx).notes
        text, ok = check_report(folder, as_json, expect)
    click.echo(text)
    ctx.exit(0 if ok else 1)


@meetings.command()
@click.pass_context
def index(ctx: click.Context) -> None:
    """Regenerate the index of all notes in the README beside the notes folder."""
    from wg_meetings.index import write_index
    from wg_meetings.new import existing_meetings, files_read

    with _user_errors():
        config = _config(ctx)
        readme = config.notes.parent / "README.md"
        meetings = existing_meetings(config.notes)
        changed = write_index(readme, meetings, config.width, inputs=files_read(config))
    click.echo(f"{'updated' if changed else 'up to date:'} {readme}")


@meetings.command()
@click.argument("number", required=False, type=click.IntRange(min=1))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the .ics file here (default: standard output).",
)
@click.pass_context
def ics(ctx: click.Context, number: int | None, output: Path | None) -> None:
    """An iCalendar file for the next meeting, or for meeting NUMBER."""
    from wg_io.output import write_bytes

    from wg_meetings.ics import meeting_for, to_ics
    from wg_meetings.new import files_read

    with _user_errors():
        config = _config(ctx)
        data = to_ics(meeting_for(config, number), config)
        if output is not None:
            write_bytes(output, data, inputs=files_read(config))
    if output is None:
        click.echo(data, nl=False)
    else:
        click.echo(f"wrote {output}")
