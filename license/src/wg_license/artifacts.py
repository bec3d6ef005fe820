"""The artifact-notice check: model files and other artifacts carry the notice beside them or in
their metadata.

Accepted carriers: a licence file in the artifact's folder, a ``<artifact>.license`` sidecar, a
``license``/``notice`` entry of a ``.safetensors`` header's ``__metadata__`` or of an ONNX
model's ``metadata_props``, or a ``LICENSE*`` / ``NOTICE*`` member of an ``.npz`` archive; each
must hold the exact licence text.
"""

from __future__ import annotations

import os
import struct
import zipfile
from pathlib import Path
from typing import BinaryIO

from wg_io.structure import InputError, load_json

from wg_license.context import Context
from wg_license.findings import Severity, make
from wg_license.fingerprints import identify_text
from wg_license.tree import is_licence_name

_MAX_HEADER = 100 * 1024 * 1024  # safetensors caps its JSON header at 100 MB
_META_KEYS = ("license", "licence", "notice")
#: Largest licence member of an ``.npz`` read (a licence text is kilobytes; this stops a bomb).
_MAX_NOTICE = 1024 * 1024


def _safetensors_texts(path: Path) -> list[str]:
    with path.open("rb") as fh:
        raw = fh.read(8)
        if len(raw) < 8:
            return []
        (size,) = struct.unpack("<Q", raw)
        if size > _MAX_HEADER:
            return []
        header = load_json(fh.read(size), str(path))
    meta = header.get("__metadata__", {}) if isinstance(header, dict) else {}
    return [v for k, v in meta.items() if k.lower() in _META_KEYS and isinstance(v, str)]


def _npz_texts(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as archive:
        return [
            archive.read(m).decode("utf-8", "replace")
            for m in archive.infolist()
            if is_licence_name(m.filename.rpartition("/")[2].removesuffix(".npy"))
            and m.file_size <= _MAX_NOTICE
        ]


def _varint(fh: BinaryIO) -> int | None:
    value, shift = 0, 0
    while True:
        byte = fh.read(1)
        if not byte:
            return None
        value |= (byte[0] & 0x7F) << shift
        if byte[0] < 0x80:
            return value
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def _fields(data: bytes) -> dict[int, bytes]:
    """Length-delimited fields of a small protobuf message (later ones win)."""
    import io

    out: dict[int, bytes] = {}
    fh = io.BytesIO(data)
    while (key := _varint(fh)) is not None:
        if key & 7 != 2:
            raise ValueError("unexpected wire type in a string entry")
        size = _varint(fh) or 0
        out[key >> 3] = fh.read(size)
    return out


def _onnx_texts(path: Path) -> list[str]:
    """``metadata_props`` (ModelProto field 14) licence entries, skipping the graph unread.

    A model can be gigabytes: top-level fields are walked with seeks, reading only field 14.
    """
    texts = []
    with path.open("rb") as fh:
        while (key := _varint(fh)) is not None:
            field_number, wire = key >> 3, key & 7
            if wire == 0:
                _varint(fh)
            elif wire == 2:
                size = _varint(fh) or 0
                if field_number == 14 and size < 64 * 1024 * 1024:
                    entry = _fields(fh.read(size))
                    if entry.get(1, b"").decode("utf-8", "replace").lower() in _META_KEYS:
                        texts.append(entry.get(2, b"").decode("utf-8", "replace"))
                else:
                    fh.seek(size, 1)
            elif wire in (1, 5):
                fh.seek(8 if wire == 1 else 4, 1)
            else:
                raise ValueError(f"not an ONNX model (wire type {wire})")
    return texts


def embedded_texts(path: Path) -> list[str]:
    """Licence texts stored inside an artifact's own metadata (empty when there are none)."""
    try:
        if path.suffix == ".safetensors":
            return _safetensors_texts(path)
        if path.suffix == ".npz":
            return _npz_texts(path)
        if path.suffix == ".onnx":
            return _onnx_texts(path)
    except (OSError, ValueError, zipfile.BadZipFile, UnicodeDecodeError, InputError):
        return []
    return []


def _carried(ctx: Context, rel: str, licence_id: str) -> bool:
    folder = rel.rpartition("/")[0]
    beside = [*ctx.tree.licence_files_in(folder)]
    if (ctx.root / f"{rel}.license").is_file():
        beside.append(f"{rel}.license")
    for other in beside:
        found = ctx.identify(other)
        if found and found.custom.licence_id == licence_id:
            return True
    return any(
        identify_text(t).custom.licence_id == licence_id for t in embedded_texts(ctx.root / rel)
    )


def _config_error(ctx: Context, message: str, fix: str) -> None:
    """A ``config`` error at the [tool.wg.license] table that declares the artifact folders."""
    ctx.findings.append(
        make("config", Severity.ERROR, ctx.policy.source, ctx.policy.line, message, fix)
    )


def _folder_artifacts(ctx: Context) -> list[tuple[str, str | None]]:
    found = []
    for folder, licence in ctx.policy.artifact_folders:
        base = ctx.root / folder
        if not base.is_dir():
            _config_error(
                ctx,
                f"artifact folder `{folder}` does not exist",
                "fix `artifact-folders` in [tool.wg.license]",
            )
            continue
        if licence is not None and licence.lower() not in ctx.custom:
            _config_error(
                ctx,
                f"artifact folder `{folder}`: unknown licence `{licence}`",
                "use a LicenseRef- id from license/terms/ (wg license terms)",
            )
            continue
        for dirpath, _, files in os.walk(base):
            rel_dir = Path(dirpath).relative_to(ctx.root).as_posix()
            found += [
                (f"{rel_dir}/{f}", licence)
                for f in sorted(files)
                if not is_licence_name(f) and not f.endswith(".license")
            ]
    return found


def check_artifacts(ctx: Context) -> None:
    """Every artifact owned by (or configured for) a notice-bearing licence carries it."""
    todo: dict[str, str | None] = dict.fromkeys(ctx.tree.artifacts)
    todo.update(dict(_folder_artifacts(ctx)))
    for rel, configured in sorted(todo.items()):
        state = ctx.owner(rel)
        keys = {configured} if configured else set(state.keys if state else ())
        for key in sorted(keys):
            terms = ctx.custom.get(key.lower())
            if terms is None or not terms.obligations.get("notice_with_artifacts"):
                continue
            if not _carried(ctx, rel, terms.id):
                ctx.findings.append(
                    make(
                        "no-notice",
                        Severity.ERROR,
                        rel,
                        1,
                        f"artifact falls under {terms.id}, whose notice must travel with artifacts "
                        "such as trained models, but none is beside it or in its metadata",
                        f"put the {terms.name} text in {rel.rpartition('/')[0] or '.'}/LICENSE or "
                        f"{rel}.license, or in the artifact's metadata (`license` key)",
                        state.package.name if state else "",
                    )
                )
