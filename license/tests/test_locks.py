"""The line scanner for lock files agrees with a full TOML parse."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from wg_license.manifests import normalise_name
from wg_license.propagation import scan_lock

REPO = Path(__file__).resolve().parents[2]
NAMES = st.from_regex(r"[a-z][a-z0-9_.-]{0,8}", fullmatch=True)


def reference(text: str) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for entry in tomllib.loads(text).get("package", []):
        deps = graph.setdefault(normalise_name(entry["name"]), set())
        for dep in entry.get("dependencies", []):
            name = dep["name"] if isinstance(dep, dict) else dep.split()[0]
            deps.add(normalise_name(name))
    return graph


def uv_lock(packages: dict[str, list[str]]) -> str:
    out = ['version = 1\nrequires-python = ">=3.11"\n']
    for name, deps in packages.items():
        out.append(
            f'[[package]]\nname = "{name}"\nversion = "1.0"\n'
            'source = { registry = "https://pypi.org/simple" }'
        )
        if deps:
            out.append("dependencies = [")
            out += [f'    {{ name = "{d}", marker = "sys_platform == \'linux\'" }},' for d in deps]
            out.append("]")
        out.append('[package.optional-dependencies]\nx = [\n    { name = "ignored" },\n]\n')
    return "\n".join(out) + "\n"


def cargo_lock(packages: dict[str, list[str]]) -> str:
    out = ["version = 3\n"]
    for name, deps in packages.items():
        out.append(f'[[package]]\nname = "{name}"\nversion = "0.1.0"')
        if deps:
            out.append("dependencies = [")
            out += [
                f' "{d} 1.0.0 (registry+https://github.com/rust-lang/crates.io-index)",'
                for d in deps
            ]
            out.append("]")
        out.append("")
    return "\n".join(out) + "\n"


@settings(max_examples=40, deadline=None)
@given(st.dictionaries(NAMES, st.lists(NAMES, max_size=4), max_size=8))
def test_scanner_matches_tomllib(packages):
    for text in (uv_lock(packages), cargo_lock(packages)):
        assert scan_lock(text) == reference(text)


def test_scanner_matches_tomllib_on_this_repository_lock():
    lock = REPO / "uv.lock"
    if not lock.is_file():
        pytest.skip("no uv.lock beside the repository")
    text = lock.read_text(encoding="utf-8")
    assert scan_lock(text) == reference(text)


def test_malformed_header_defers_to_the_full_parser():
    assert scan_lock('version = 1\n[[package]\nname = "a"\n') is None
