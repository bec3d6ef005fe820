"""``wg license sbom``: an SPDX 2.3 JSON document of the workspace, built with spdx-tools.

spdx-tools is imported here only (it is slow to import). Its full validation is quadratic in the
number of packages, so it runs once per document, never per package.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from wg_io.output import OutputError, write_text

from wg_license.check import Report, run_check
from wg_license.context import PackageState
from wg_license.manifests import normalise_name
from wg_license.terms import terms_by_id


class SbomError(Exception):
    """The SBOM could not be built, validated or written."""


def _spdx_id(name: str, taken: set[str]) -> str:
    base = "SPDXRef-Package-" + (re.sub(r"[^A-Za-z0-9.-]+", "-", name).strip("-") or "unnamed")
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base}-{n}"
    taken.add(candidate)
    return candidate


def _extracted(root: Path, states: list[PackageState], refs: set[str]) -> list[Any]:
    from spdx_tools.spdx.model import ExtractedLicensingInfo

    custom = terms_by_id()
    infos = []
    for ref in sorted(refs):
        terms = custom.get(ref.lower())
        text = next(
            (
                (root / rel).read_text(encoding="utf-8", errors="replace")
                for s in states
                for rel, i in s.shipped.items()
                if i.custom.licence_id == ref
            ),
            None,
        )
        infos.append(
            ExtractedLicensingInfo(
                license_id=ref,
                extracted_text=text
                or f"{ref}: text not shipped in this tree; see cross references",
                license_name=terms.name if terms else ref,
                cross_references=[terms.source] if terms and terms.source else [],
                comment=f"normalised SHA-256 {terms.sha256}" if terms else None,
            )
        )
    return infos


def _packages(report: Report) -> tuple[list[Any], set[str]]:
    """One spdx-tools Package per workspace member, and the LicenseRefs their licences name."""
    from license_expression import get_spdx_licensing
    from spdx_tools.spdx.model import Package, SpdxNoAssertion

    licensing = get_spdx_licensing()
    taken: set[str] = set()
    packages, refs = [], set()
    for state in report.packages:
        pkg = state.package
        declared: Any = SpdxNoAssertion()
        if state.parsed is not None:
            declared = licensing.parse(state.parsed.text)
            refs |= {k for k in state.keys if k.startswith("LicenseRef-")}
        packages.append(
            Package(
                spdx_id=_spdx_id(pkg.name, taken),
                name=pkg.name,
                download_location=SpdxNoAssertion(),
                files_analyzed=False,
                license_declared=declared,
                license_concluded=SpdxNoAssertion(),
                copyright_text=SpdxNoAssertion(),
                source_info=f"declared in {pkg.manifest}",
            )
        )
    return packages, refs


def _relationships(report: Report, packages: list[Any]) -> list[Any]:
    """The document describes every package; members that depend on each other (from their
    metadata) say so."""
    from spdx_tools.spdx.model import Relationship, RelationshipType

    relationships = [
        Relationship("SPDXRef-DOCUMENT", RelationshipType.DESCRIBES, p.spdx_id) for p in packages
    ]
    ids = {
        normalise_name(s.package.name): p.spdx_id
        for s, p in zip(report.packages, packages, strict=True)
    }
    for state, package in zip(report.packages, packages, strict=True):
        for dep in sorted(state.package.dependencies & ids.keys()):
            relationships.append(
                Relationship(package.spdx_id, RelationshipType.DEPENDS_ON, ids[dep])
            )
    return relationships


def build_document(report: Report) -> Any:
    """An spdx-tools Document of a check's report: one package per workspace member,
    LicenseRefs extracted."""
    from spdx_tools.spdx.model import Actor, ActorType, CreationInfo, Document

    packages, refs = _packages(report)
    info = CreationInfo(
        spdx_version="SPDX-2.3",
        spdx_id="SPDXRef-DOCUMENT",
        name=f"{report.root.resolve().name}-sbom",
        document_namespace=f"https://spdx.org/spdxdocs/wg-license/{uuid.uuid4()}",
        creators=[Actor(ActorType.TOOL, "wg-license")],
        created=datetime.now(UTC).replace(microsecond=0, tzinfo=None),
    )
    return Document(
        info,
        packages=packages,
        relationships=_relationships(report, packages),
        extracted_licensing_info=_extracted(report.root, report.packages, refs),
    )


def write_sbom(root: Path, output: Path) -> int:
    """Build, validate (once) and write the SBOM through the output-path policy; return the
    package count. A tree without packages, or an output that is one of the files read, is an
    :class:`SbomError`.

    Examples
    --------
    >>> import tempfile, json
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = (Path(d) / "package.json").write_text('{"name": "x", "license": "MIT"}')
    ...     write_sbom(Path(d), Path(d) / "sbom.json")
    1
    """
    from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document
    from spdx_tools.spdx.writer.json.json_writer import write_document_to_stream

    report = run_check(Path(root))
    if not report.packages:
        raise SbomError(
            f"no package under {root}: found no pyproject.toml, Cargo.toml or package.json "
            "that declares a package; run it on the root of a workspace"
        )
    document = build_document(report)
    messages = validate_full_spdx_document(document)
    if messages:
        detail = "; ".join(m.validation_message for m in messages[:5])
        raise SbomError(
            f"the SPDX document does not validate ({len(messages)} problem(s)): {detail}"
        )
    import io

    stream = io.StringIO()
    write_document_to_stream(document, stream, validate=False)
    try:
        write_text(output, stream.getvalue(), inputs=report.inputs)
    except OutputError as exc:
        raise SbomError(str(exc)) from None
    return len(document.packages)
