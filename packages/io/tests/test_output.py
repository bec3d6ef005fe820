"""The output-path policy: links, devices, inputs, modes, temporary files and error messages."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from wg_io.output import OutputError, open_output, write_bytes, write_json, write_text


def leftovers(folder: Path) -> list[str]:
    return sorted(n for n in os.listdir(folder) if ".wgtmp-" in n)


def test_symlink_target_is_written_and_link_kept(tmp_path: Path) -> None:
    real = tmp_path / "real.wgm"
    real.write_bytes(b"old")
    link = tmp_path / "link.wgm"
    link.symlink_to(real)
    write_bytes(link, b"new")
    assert link.is_symlink()
    assert real.read_bytes() == b"new"


def test_dangling_symlink_creates_its_target(tmp_path: Path) -> None:
    link = tmp_path / "link.txt"
    link.symlink_to(tmp_path / "target.txt")
    write_text(link, "x")
    assert link.is_symlink()
    assert (tmp_path / "target.txt").read_text() == "x"


def private_device(folder: Path, name: str, minor: int) -> Path:
    """A character device node of our own (1, minor: 3 is null, 7 is full), so that a broken
    writer could only replace this node, never the machine's /dev/null or /dev/full."""
    if os.geteuid() != 0:
        pytest.skip("making device nodes needs root")
    node = folder / name
    os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, minor))
    return node


def test_character_device_is_written_in_place(tmp_path: Path) -> None:
    null = private_device(tmp_path, "null", 3)
    before = os.stat(null)
    write_bytes(null, b"discarded")
    after = os.stat(null)
    assert stat.S_ISCHR(after.st_mode)
    assert (before.st_ino, before.st_rdev) == (after.st_ino, after.st_rdev)


def test_full_device_names_the_path_and_says_what_to_do(tmp_path: Path) -> None:
    full = private_device(tmp_path, "full", 7)
    message = r"^cannot write .*/full: No space left on device \(the disk is full"
    with pytest.raises(OutputError, match=message):
        write_bytes(full, b"x" * 100_000)
    assert stat.S_ISCHR(os.stat(full).st_mode)


def test_fifo_is_written_directly(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = subprocess.Popen(
        [sys.executable, "-c", f"print(open({str(fifo)!r}).read())"], stdout=subprocess.PIPE
    )
    write_text(fifo, "through the pipe")
    out, _ = reader.communicate(timeout=30)
    assert out.decode().strip() == "through the pipe"
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_output_equal_to_an_input_is_refused_even_through_a_link(tmp_path: Path) -> None:
    data = tmp_path / "data.vw"
    data.write_text("1 | a\n")
    alias = tmp_path / "alias.vw"
    alias.symlink_to(data)
    for given in (data, alias, tmp_path / "sub" / ".." / "data.vw"):
        (tmp_path / "sub").mkdir(exist_ok=True)
        with pytest.raises(OutputError, match="it is also an input of this command"):
            write_text(given, "WGONLINE", inputs=[data])
    assert data.read_text() == "1 | a\n"


def test_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="it is a folder"):
        write_text(tmp_path, "x")


def test_missing_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="its folder does not exist"):
        write_text(tmp_path / "no" / "x.txt", "x")
    write_text(tmp_path / "no" / "x.txt", "x", make_parents=True)
    assert (tmp_path / "no" / "x.txt").read_text() == "x"


def test_new_file_takes_the_umask_and_replaced_file_keeps_its_mode(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        write_text(tmp_path / "new.txt", "x")
        assert stat.S_IMODE(os.stat(tmp_path / "new.txt").st_mode) == 0o644
        kept = tmp_path / "kept.md"
        kept.write_text("x")
        kept.chmod(0o640)
        write_text(kept, "y")
        assert stat.S_IMODE(os.stat(kept).st_mode) == 0o640
    finally:
        os.umask(old)


def test_failure_inside_the_block_leaves_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "model.wgm"
    target.write_bytes(b"old")

    def interrupted() -> None:
        with open_output(target) as out:
            out.write(b"half")
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        interrupted()
    assert target.read_bytes() == b"old"
    assert leftovers(tmp_path) == []


def test_read_only_folder_names_the_users_path_not_the_temporary(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root writes into read-only folders")
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    with pytest.raises(OutputError, match=r"cannot write .*ro/r.json: Permission denied"):
        write_json(folder / "r.json", {})


def test_temporary_of_a_killed_writer_is_swept_by_the_next_write(tmp_path: Path) -> None:
    target = tmp_path / "p.txt"
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    stale = tmp_path / f".p.txt.wgtmp-{dead.stdout.strip()}-abc"
    stale.write_text("half")
    mine = tmp_path / f".other.wgtmp-{dead.stdout.strip()}-abc"
    mine.write_text("another target's")
    write_text(target, "whole")
    assert target.read_text() == "whole"
    assert not stale.exists()
    assert mine.exists()


def test_write_json_replaces_non_finite_numbers(tmp_path: Path) -> None:
    write_json(tmp_path / "r.json", {"a": float("nan"), "b": [float("inf"), 1.5]})
    assert (tmp_path / "r.json").read_text() == '{\n "a": null,\n "b": [\n  null,\n  1.5\n ]\n}\n'


def test_a_folder_that_takes_no_new_files_says_so() -> None:
    with pytest.raises(
        OutputError, match=r"^cannot write /proc/wg-out: .*\(this folder takes no new"
    ):
        write_text("/proc/wg-out", "x")


def test_exclusive_write_never_replaces(tmp_path: Path) -> None:
    target = tmp_path / "meeting_00003.md"
    write_text(target, "first", exclusive=True)
    with pytest.raises(OutputError, match="it exists already"):
        write_text(target, "second", exclusive=True)
    assert target.read_text() == "first"
    assert leftovers(tmp_path) == []
