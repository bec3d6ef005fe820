"""The propagation, artifact-notice and dependency-allowed checks."""

from __future__ import annotations

import hashlib
import json
import struct
import zipfile

import pytest
from wg_license.check import run_check

V3 = "LicenseRef-St-Claire-0.3"
ACK = "[tool.wg.license]\nacknowledge-unstable = true\n"
pytestmark = pytest.mark.corpus


def findings(report):
    return sorted((f.rule, f.path) for f in report.findings)


def unpropagated(*manifests):
    """The findings of dependents that neither declare nor ship a propagating licence."""
    return [(rule, m) for rule in ("not-declared", "notice-not-shipped") for m in manifests]


def test_propagation_through_metadata_and_lock(write, lic):
    root = write(
        {
            "pyproject.toml": ACK,
            "core/pyproject.toml": lic.pyproject("core", V3, ["LICENSE"]),
            "core/LICENSE": lic.text(V3),
            "mid/pyproject.toml": lic.pyproject("mid", V3, ["LICENSE"], deps=["core>=1"]),
            "mid/LICENSE": lic.text(V3),
            "app/pyproject.toml": lic.pyproject("app", "MIT", ["LICENSE"], deps=["mid"]),
            "app/LICENSE": lic.MIT,
            "tool/pyproject.toml": lic.pyproject("tool", "MIT", ["LICENSE"]),
            "tool/LICENSE": lic.MIT,
            # only the lock file knows that tool depends on core
            "uv.lock": (
                'version = 1\n[[package]]\nname = "tool"\ndependencies = [{ name = "core" }]\n'
            ),
        }
    )
    report = run_check(root, site_paths=[])
    assert findings(report) == unpropagated("app/pyproject.toml", "tool/pyproject.toml")
    app = next(f for f in report.findings if f.path == "app/pyproject.toml")
    assert "(app -> mid)" in app.message
    assert app.fix == f'license = "MIT AND {V3}"'
    assert report.exit_code == 4


def test_propagation_satisfied(write, lic):
    root = write(
        {
            "pyproject.toml": ACK,
            "core/Cargo.toml": f'[package]\nname = "core"\nlicense = "{V3}"\n',
            "core/LICENSE": lic.text(V3),
            "app/Cargo.toml": (
                f'[package]\nname = "app"\nlicense = "MIT AND {V3}"\n'
                '[dependencies]\ncore = { path = "../core" }\n'
            ),
            "app/LICENSE-MIT": lic.MIT,
            "app/LICENSE": lic.text(V3),
        }
    )
    assert run_check(root, site_paths=[]).findings == []


def _safetensors(meta):
    header = json.dumps({"__metadata__": meta}).encode()
    return struct.pack("<Q", len(header)) + header


def _varint(n):
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def _onnx(meta):
    """A minimal ONNX ModelProto: ir_version, a 'graph' to skip, metadata_props entries."""

    def field(number, payload):
        return _varint(number << 3 | 2) + _varint(len(payload)) + payload

    model = _varint(1 << 3) + _varint(8) + field(7, b"\x0a\x03abc" * 1000)
    for key, value in meta.items():
        model += field(14, field(1, key.encode()) + field(2, value.encode()))
    return model


def test_artifacts_carry_the_notice(write, lic):
    text = lic.text(V3)
    buffer = root = write(
        {
            "pyproject.toml": lic.pyproject("m", V3, ["LICENSE"], extra=ACK),
            "LICENSE": text,
            "models/bare.onnx": b"\x08\x01onnx",
            "models/with_meta.safetensors": _safetensors({"license": text}),
            "models/wrong_meta.safetensors": _safetensors({"license": V3}),
            "models/sidecar.pt": b"\x80\x02",
            "models/meta.onnx": _onnx({"author": "us", "license": text}),
            "models/other_meta.onnx": _onnx({"license": "MIT"}),
            "models/sidecar.pt.license": text,
            "ok/weights.onnx": b"x",
            "ok/LICENSE": text,
        }
    )
    with zipfile.ZipFile(buffer / "models/packed.npz", "w") as archive:
        archive.writestr("LICENSE", text)
        archive.writestr("w.npy", b"\x93NUMPY")
    report = run_check(root, site_paths=[])
    assert findings(report) == [
        ("no-notice", "models/bare.onnx"),
        ("no-notice", "models/other_meta.onnx"),
        ("no-notice", "models/wrong_meta.safetensors"),
    ]
    assert report.exit_code == 8


def test_configured_artifact_folder_outside_any_package(write, lic):
    root = write(
        {
            "pyproject.toml": (
                "[tool.wg.license]\nacknowledge-unstable = true\n"
                f'artifact-folders = [{{ path = "exports", licence = "{V3}" }}]\n'
            ),
            "exports/model.bin": b"\x00\x01",
        }
    )
    assert findings(run_check(root, site_paths=[])) == [("no-notice", "exports/model.bin")]
    (root / "exports/NOTICE").write_text(lic.text(V3))
    assert run_check(root, site_paths=[]).findings == []


def _dist(site, name, version, headers, files=None):
    folder = site / f"{name.replace('-', '_')}-{version}.dist-info"
    folder.mkdir(parents=True)
    lines = ["Metadata-Version: 2.4", f"Name: {name}", f"Version: {version}", *headers]
    (folder / "METADATA").write_text("\n".join(lines) + "\n\nLong description: not a header\n")
    for rel, content in (files or {}).items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(content)


def _allow_list_tree(write, lic, tmp_path):
    """An app whose site has allowed, denied, clarified and excused dependencies."""
    site = tmp_path / "site"
    _dist(site, "good", "1", ["License-Expression: MIT OR GPL-3.0-only", "Requires-Dist: deep"])
    _dist(site, "deep", "2", ["License: GPL-3.0-only"])
    _dist(
        site,
        "legacy",
        "1",
        ["Classifier: License :: OSI Approved :: BSD License"],
        {"licenses/LICENSE": "BSD text"},
    )
    _dist(
        site,
        "excused",
        "1",
        ["License-Expression: MPL-2.0", "Requires-Dist: optional; extra == 'x'"],
    )
    digest = hashlib.sha256(b"BSD text").hexdigest()
    config = (
        '[tool.wg.license]\nallow = ["MIT", "Apache-2.0"]\n'
        'exceptions = [{ name = "excused", allow = ["MPL-2.0"], reason = "unmodified" }]\n'
        f'clarify = [{{ name = "legacy", expression = "BSD-3-Clause", file = "LICENSE", '
        f'sha256 = "{digest}" }}]\n'
    )
    root = write(
        {
            "pyproject.toml": lic.pyproject(
                "app",
                "MIT",
                ["LICENSE"],
                deps=["good", "legacy", "excused", "absent"],
                extra=config,
            ),
            "LICENSE": lic.MIT,
        }
    )
    return root, site, config


def test_dependencies_against_the_allow_list(write, lic, tmp_path):
    root, site, _ = _allow_list_tree(write, lic, tmp_path)
    report = run_check(root, site_paths=[str(site)])
    messages = sorted(f.message for f in report.findings)
    assert messages == [
        "dependency deep 2 is under `GPL-3.0-only` (License), which the allow list does not permit",
        "dependency legacy 1 is under `BSD-3-Clause` (clarification), which the allow list "
        "does not permit",
    ]
    assert report.exit_code == 16


def test_clarification_of_a_changed_file_is_stale(write, lic, tmp_path):
    root, site, _ = _allow_list_tree(write, lic, tmp_path)
    (site / "legacy-1.dist-info/licenses/LICENSE").write_text("changed")
    stale = [
        f
        for f in run_check(root, site_paths=[str(site)]).findings
        if f.rule == "clarification-stale"
    ]
    assert len(stale) == 1
    assert stale[0].path == "pyproject.toml"


def test_a_second_clarification_of_the_same_name_matches_the_changed_file(write, lic, tmp_path):
    root, site, config = _allow_list_tree(write, lic, tmp_path)
    (site / "legacy-1.dist-info/licenses/LICENSE").write_text("changed")
    # A second entry for the same name (e.g. another Python's build) makes it valid again.
    changed = hashlib.sha256(b"changed").hexdigest()
    again = config.replace(
        "clarify = [",
        f'clarify = [\n  {{ name = "legacy", expression = "MIT", file = "LICENSE", '
        f'sha256 = "{changed}" }},',
    )
    (root / "pyproject.toml").write_text(
        lic.pyproject("app", "MIT", ["LICENSE"], deps=["good", "legacy", "excused"], extra=again)
    )
    rules = [f.rule for f in run_check(root, site_paths=[str(site)]).findings]
    assert rules == ["dependency-denied"]  # only deep's GPL-3.0-only is left


def test_unknown_dependency_licence_is_a_warning_without_allow_list(write, lic, tmp_path):
    site = tmp_path / "site"
    _dist(site, "vague", "1", ["License: BSD"], {"licenses/COPYING": lic.MIT})
    _dist(site, "ethical", "1", [f"License-Expression: {V3}"])
    root = write(
        {
            "pyproject.toml": lic.pyproject(
                "app", "MIT", ["LICENSE"], deps=["vague", "ethical"], extra=ACK
            ),
            "LICENSE": lic.MIT,
        }
    )
    report = run_check(root, site_paths=[str(site)])
    assert sorted((f.rule, f.severity.value) for f in report.findings) == [
        ("dependency-unknown", "warning"),
        ("not-declared", "error"),
        ("notice-not-shipped", "error"),
    ]


def test_propagation_terminates_on_dependency_cycles(write, lic):
    root = write(
        {
            "pyproject.toml": ACK,
            "a/pyproject.toml": lic.pyproject("a", "MIT", ["LICENSE"], deps=["b"]),
            "a/LICENSE": lic.MIT,
            "b/pyproject.toml": lic.pyproject("b", V3, ["LICENSE"], deps=["c"]),
            "b/LICENSE": lic.text(V3),
            "c/pyproject.toml": lic.pyproject("c", "MIT", ["LICENSE"], deps=["a"]),
            "c/LICENSE": lic.MIT,
        }
    )
    report = run_check(root, site_paths=[])
    assert findings(report) == unpropagated("a/pyproject.toml", "c/pyproject.toml")
    c = next(f for f in report.findings if f.path == "c/pyproject.toml")
    assert "(c -> a -> b)" in c.message


def test_our_own_model_files_are_artifacts_by_magic(write, lic):
    root = write(
        {
            "pyproject.toml": lic.pyproject("m", V3, ["LICENSE"], extra=ACK),
            "LICENSE": lic.text(V3),
            "runs/cnn.bin": b"WGCONVNT\x00\x00\x00\x00{}",
            "runs/lr": b"WGONLINE\x01\x00\x00\x00",
            "runs/data.bin": b"\x00\x01 not a model",
        }
    )
    assert findings(run_check(root, site_paths=[])) == [
        ("no-notice", "runs/cnn.bin"),
        ("no-notice", "runs/lr"),
    ]
