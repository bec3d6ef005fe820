"""The ``[tool.wg.license]`` policy of the root pyproject.toml, with defaults for no config.

Example (every key optional)::

    [tool.wg.license]
    allow = ["MIT", "Apache-2.0", "BSD-3-Clause"]       # dependency allow list
    acknowledge-unstable = ["LicenseRef-St-Claire-0.3"]  # or true
    exclude = ["examples/vendored"]
    artifact-patterns = ["*.onnx", "*.safetensors", "*.npz"]
    artifact-folders = [{ path = "models", licence = "LicenseRef-St-Claire-0.3" }]
    exceptions = [{ name = "certifi", allow = ["MPL-2.0"], reason = "CA bundle, unmodified" }]
    clarify = [{ name = "numba", expression = "BSD-2-Clause",
                 file = "LICENSE", sha256 = "<hex>" }]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wg_license.findings import Finding, Severity, make
from wg_license.manifests import line_of, load_toml, normalise_name
from wg_license.tree import DEFAULT_ARTIFACTS, DEFAULT_EXCLUDE


@dataclass(frozen=True)
class Clarification:
    """A dependency's licence stated by us, valid only while its licence file is unchanged.

    Kept under the dependency's normalised name in :attr:`Policy.clarify`, which is its one home.
    """

    expression: str
    file: str
    sha256: str
    line: int


@dataclass(frozen=True)
class Waiver:
    """Extra licences allowed for one dependency (the key in :attr:`Policy.exceptions`), and why."""

    allow: tuple[str, ...]
    reason: str
    line: int


@dataclass
class Policy:
    """Everything configurable; the defaults make every valid, consistent declaration pass."""

    allow: tuple[str, ...] | None = None
    acknowledged: frozenset[str] | bool = frozenset()
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE
    artifact_patterns: tuple[str, ...] = DEFAULT_ARTIFACTS
    artifact_folders: tuple[tuple[str, str | None], ...] = ()
    exceptions: dict[str, Waiver] = field(default_factory=dict)
    #: name -> clarifications; several entries may pin different files or versions' hashes
    clarify: dict[str, list[Clarification]] = field(default_factory=dict)
    licence_refs: tuple[str, ...] = ()
    dependencies: bool = True
    source: str = "pyproject.toml"
    line: int = 1

    def acknowledges(self, licence_id: str) -> bool:
        """Whether the config acknowledges that ``licence_id`` calls itself unstable."""
        if isinstance(self.acknowledged, bool):
            return self.acknowledged
        return licence_id.lower() in self.acknowledged


def _strings(value: Any, key: str, ctx: _Ctx) -> tuple[str, ...] | None:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    ctx.error(key, f"`{key}` must be a list of strings", f'{key} = ["..."]')
    return None


class _Ctx:
    def __init__(self, text: str, findings: list[Finding]) -> None:
        self.text = text
        self.findings = findings

    def line(self, key: str) -> int:
        return line_of(self.text, rf"^\s*{key}\s*=", "[tool.wg.license]")

    def error(self, key: str, message: str, fix: str) -> None:
        self.findings.append(
            make(
                "config",
                Severity.ERROR,
                "pyproject.toml",
                self.line(key),
                f"[tool.wg.license] {message}",
                fix,
            )
        )


def _tables(value: Any, key: str, ctx: _Ctx, required: tuple[str, ...]) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        ctx.error(key, f"`{key}` must be an array of tables", f"{key} = [{{ name = ... }}]")
        return []
    good = []
    for entry in value:
        missing = [k for k in required if not isinstance(entry.get(k), str | list) or not entry[k]]
        if missing:
            ctx.error(
                key,
                f"`{key}` entry {entry.get('name', '?')!r} lacks {', '.join(missing)}",
                f"give every {key} entry: {', '.join(required)}",
            )
        else:
            good.append(entry)
    return good


def _apply(policy: Policy, table: dict[str, Any], ctx: _Ctx) -> None:
    for key, attr in (
        ("allow", "allow"),
        ("exclude", "exclude"),
        ("artifact-patterns", "artifact_patterns"),
        ("licence-refs", "licence_refs"),
    ):
        if key in table and (value := _strings(table[key], key, ctx)) is not None:
            setattr(policy, attr, value if key != "exclude" else (*DEFAULT_EXCLUDE, *value))
    ack = table.get("acknowledge-unstable", [])
    if isinstance(ack, bool):
        policy.acknowledged = ack
    elif (acks := _strings(ack, "acknowledge-unstable", ctx)) is not None:
        policy.acknowledged = frozenset(a.lower() for a in acks)
    if isinstance(table.get("dependencies", True), bool):
        policy.dependencies = table.get("dependencies", True)
    for e in _tables(table.get("artifact-folders", []), "artifact-folders", ctx, ("path",)):
        policy.artifact_folders += ((str(e["path"]).strip("/"), e.get("licence")),)
    for e in _tables(table.get("exceptions", []), "exceptions", ctx, ("name", "allow", "reason")):
        name = normalise_name(str(e["name"]))
        allow = tuple(e["allow"]) if isinstance(e["allow"], list) else (str(e["allow"]),)
        policy.exceptions[name] = Waiver(allow, str(e["reason"]), ctx.line("exceptions"))
    required = ("name", "expression", "file", "sha256")
    for e in _tables(table.get("clarify", []), "clarify", ctx, required):
        name = normalise_name(str(e["name"]))
        policy.clarify.setdefault(name, []).append(
            Clarification(
                str(e["expression"]),
                str(e["file"]),
                str(e["sha256"]).lower(),
                ctx.line("clarify"),
            )
        )


def load_policy(root: Path, findings: list[Finding]) -> Policy:
    """Read ``[tool.wg.license]`` from ``root/pyproject.toml``; defaults when absent.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     load_policy(Path(d), []).allow is None
    True
    """
    policy = Policy()
    if not (root / "pyproject.toml").is_file():
        return policy
    loaded = load_toml(root, "pyproject.toml", [])
    if loaded is None:
        return policy  # the manifest reader reports the syntax error once
    data, text = loaded
    table: Any = data
    for key in ("tool", "wg", "license"):
        table = table.get(key) if isinstance(table, dict) else None
    if table is None:
        return policy
    ctx = _Ctx(text, findings)
    if not isinstance(table, dict):
        ctx.error("license", "must be a table", "write [tool.wg.license] as a table")
        return policy
    policy.line = line_of(text, r"^\[tool\.wg\.license\]")
    _apply(policy, table, ctx)
    return policy
