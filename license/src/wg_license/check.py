"""``wg license check``: every check of :data:`wg_license.findings.CHECKS` over a whole tree.

Gather, then judge: one walk of the tree and one read of each manifest first, then the checks
over those facts. Each step below names the checks whose findings it may report."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from wg_license import artifacts, declarations, dependencies, propagation, texts
from wg_license.cargo import read_cargo
from wg_license.context import Context, PackageState
from wg_license.expressions import safe_id
from wg_license.findings import Finding, exit_code
from wg_license.manifests import read_package_json, read_pyproject
from wg_license.policy import load_policy
from wg_license.tree import walk

#: manifest file name -> its reader
READERS = {
    "pyproject.toml": read_pyproject,
    "Cargo.toml": read_cargo,
    "package.json": read_package_json,
}


class CheckError(Exception):
    """The check cannot run at all (e.g. the path does not exist)."""


@dataclass
class Report:
    """The result of a check: packages seen, findings, and the exit-code bitmask."""

    root: Path
    packages: list[PackageState] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    #: the files the check read: a report written over one would destroy what it describes
    inputs: list[Path] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return exit_code(self.findings)


def _packages(ctx: Context) -> None:
    for rel in ctx.tree.manifests:
        reader = READERS[rel.rpartition("/")[2]]
        pkg = reader(ctx.root, rel, ctx.findings)
        if pkg is not None:
            ctx.states.append(PackageState(pkg))


def run_check(root: Path, site_paths: Iterable[str] | None = None) -> Report:
    """Run every check (:data:`~wg_license.findings.CHECKS`) on the tree under ``root``.

    ``site_paths`` are the folders of installed distributions for the dependency check
    (default: this interpreter's ``sys.path``).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = (Path(d) / "package.json").write_text('{"name": "x", "license": "MIT/ISC"}')
    ...     [(f.rule, f.fix) for f in run_check(Path(d)).findings][0]
    ('expression-syntax', '"license": "MIT OR ISC"')
    """
    root = Path(root)
    if not root.is_dir():
        raise CheckError(f"{root} is not a folder; pass the root of a source tree")
    findings: list[Finding] = []
    policy = load_policy(root, findings)
    tree = walk(root, policy.exclude, policy.artifact_patterns)
    # REUSE: a text in LICENSES/LicenseRef-<name>.<ext> defines that custom licence.
    defined = {rel.rpartition("/")[2].rsplit(".", 1)[0] for rel in tree.reuse_licences}
    refs = (d for d in defined if d.startswith("LicenseRef-") and safe_id(d))
    policy.licence_refs += tuple(sorted(refs))
    ctx = Context(root, tree, policy, findings=[*findings, *tree.findings])
    _packages(ctx)
    for state in ctx.states:
        texts.collect_shipped(ctx, state)  # declared-vs-shipped (license-files)
        declarations.check_declaration(ctx, state)  # licence-declared, expression-valid
        texts.check_file_declaration(ctx, state)  # text-matches-version, placeholder-filled
        declarations.check_legacy(ctx, state)  # licence-declared
        declarations.check_classifiers(ctx, state)  # classifiers-agree
        declarations.check_policy_lints(ctx, state)  # custom-licence-caveats
        # declared-vs-shipped, text-matches-version, placeholder-filled
        texts.check_texts(ctx, state)
    texts.check_headers(ctx)  # headers-agree
    texts.check_reuse_dir(ctx)  # declared-vs-shipped (LICENSES/)
    external = dependencies.check_dependencies(ctx, site_paths)  # dependency-allowed
    propagation.check_propagation(ctx, external)  # propagation
    artifacts.check_artifacts(ctx)  # artifact-notice
    unique = sorted(set(ctx.findings), key=Finding.sort_key)
    return Report(root, ctx.states, unique, [root / "pyproject.toml", *tree.inputs()])
