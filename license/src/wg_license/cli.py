"""``wg license``: click commands; each parses options and calls one plain function."""

from __future__ import annotations

from pathlib import Path

import click

FORMATS = ("human", "json", "sarif", "github")


@click.group("license")
def license_group() -> None:
    """Check licence declarations (St. Claire aware); write an SPDX SBOM."""


@license_group.command("check")
@click.argument("path", type=click.Path(file_okay=False, path_type=Path), default=".")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="human",
    show_default=True,
    help="Output format: human text, JSON (schema v1), SARIF 2.1.0, GitHub annotations.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the report to this file instead of standard output.",
)
@click.option(
    "--site-packages",
    "site_paths",
    multiple=True,
    type=click.Path(file_okay=False, exists=True),
    help="Folder of installed distributions for the dependency check "
    "(repeatable; default: this interpreter's environment).",
)
def check(path: Path, fmt: str, output: Path | None, site_paths: tuple[str, ...]) -> None:
    """Check every licence declaration under PATH.

    The exit code is a bitmask: 1 declaration, 2 text, 4 propagation, 8 artifacts,
    16 dependencies; 0 when clean. Warnings never change it.
    """
    from wg_io.output import OutputError, write_text

    from wg_license.check import CheckError, run_check
    from wg_license.report import render

    try:
        report = run_check(path, site_paths or None)
    except CheckError as exc:
        raise click.UsageError(str(exc)) from exc
    text = render(report, fmt)
    if output is None:
        click.echo(text, nl=False)
    else:
        try:
            write_text(output, text, inputs=report.inputs)
        except OutputError as exc:
            raise click.ClickException(str(exc)) from None
    click.get_current_context().exit(report.exit_code)


@license_group.command("sbom")
@click.argument("path", type=click.Path(file_okay=False, path_type=Path), default=".")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Where to write the SPDX 2.3 JSON document.",
)
def sbom(path: Path, output: Path) -> None:
    """Write an SPDX 2.3 JSON SBOM of the workspace under PATH (validated before writing)."""
    from wg_license.check import CheckError
    from wg_license.sbom import SbomError, write_sbom

    try:
        count = write_sbom(path, output)
    except CheckError as exc:
        raise click.UsageError(str(exc)) from exc
    except SbomError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"wrote {output}: SPDX 2.3, {count} package(s), validated")


@license_group.command("terms")
def terms() -> None:
    """List the custom licences known from license/terms/ (id, obligations, restrictions)."""
    from wg_license.terms import load_terms

    for t in load_terms():
        duties = ", ".join(k for k, v in t.obligations.items() if v)
        click.echo(
            f"{t.id}: {t.name}; OSI approved: {'yes' if t.osi_approved else 'no'}; "
            f"stable: {'yes' if t.stable else 'no'}"
        )
        click.echo(f"  obligations: {duties}")
        click.echo(f"  restrictions: {', '.join(t.restrictions)}")
