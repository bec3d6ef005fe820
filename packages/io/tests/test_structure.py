"""Bounded parsing of hostile documents and the stdout guard."""

from __future__ import annotations

import subprocess
import sys

import pytest
from wg_io.checksum import digest
from wg_io.structure import MAX_DEPTH, InputError, load_json, load_toml, load_yaml, nesting_depth


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 5_000, 100_000])
def test_deep_json_is_an_input_error(depth: int) -> None:
    with pytest.raises(InputError, match=r"r\.json: nested more than 200 levels"):
        load_json("[" * depth + "]" * depth, "r.json")


def test_json_errors_name_file_and_line() -> None:
    with pytest.raises(InputError, match=r"^r.json:2: invalid JSON: Unterminated string"):
        load_json('{\n"a": "b', "r.json")
    with pytest.raises(InputError, match=r"r\.json: not UTF-8 text"):
        load_json(b"\xff\xfe{}", "r.json")


def test_deep_toml_is_an_input_error() -> None:
    with pytest.raises(InputError, match="nested more than"):
        load_toml("a = " + "[" * 5000 + "]" * 5000, "pyproject.toml")
    with pytest.raises(InputError, match=r"^pyproject.toml:2: invalid TOML"):
        load_toml("a = 1\nb = \n", "pyproject.toml")


def test_yaml_alias_bomb_stops_quickly() -> None:
    levels = "".join(
        f"l{i}: &l{i} [*l{i - 1}, *l{i - 1}, *l{i - 1}, *l{i - 1}]\n" for i in range(1, 60)
    )
    with pytest.raises(InputError, match="YAML aliases"):
        load_yaml("l0: &l0 [x]\n" + levels, "wg.yaml")


def test_yaml_refuses_python_objects() -> None:
    with pytest.raises(InputError, match=r"wg\.yaml:1: invalid YAML"):
        load_yaml("a: !!python/object/apply:os.system ['true']", "wg.yaml")


def test_nesting_depth_is_iterative() -> None:
    value: list = []
    for _ in range(50_000):
        value = [value]
    assert nesting_depth(value, limit=10) == 11


def test_digest_sees_one_flipped_bit() -> None:
    data = bytearray(b"\x00" * 4096)
    before = digest([bytes(data)])
    data[1234] ^= 0x10
    assert digest([bytes(data)]) != before


def test_stdout_to_a_full_disk_is_one_line() -> None:
    code = "from wg_io.streams import run_command; run_command(lambda: print('x' * 100000), 'wg')"
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [sys.executable, "-c", code], stdout=full, stderr=subprocess.PIPE, text=True
        )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "wg: cannot write standard output: No space left on device "
        "(the disk is full: free some space or write to another disk)"
    ]


def test_stdout_closed_pipe_is_quiet() -> None:
    code = (
        "from wg_io.streams import run_command; "
        "run_command(lambda: [print('x' * 1000) for _ in range(1000)], 'wg')"
    )
    done = subprocess.run(
        f'{sys.executable} -c "{code}" | head -c 10 > /dev/null',
        shell=True,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert done.stderr == ""


def test_billion_laughs_under_the_alias_limit_is_refused_quickly() -> None:
    lines = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    with pytest.raises(
        InputError, match=r"wg\.yaml:\d+: aliases expand this file to more than 10000 values"
    ):
        load_yaml("\n".join(lines), "wg.yaml")


def test_yaml_that_refers_to_itself_is_refused() -> None:
    with pytest.raises(
        InputError, match=r"wg\.yaml:1: an alias refers to a value that contains it"
    ):
        load_yaml("a: &a [1, *a]", "wg.yaml")


def test_impossible_date_in_yaml_is_an_input_error() -> None:
    with pytest.raises(
        InputError,
        match=r"wg\.yaml:1: first: 2021-02-30 is not a valid value \(day is out of range",
    ):
        load_yaml("first: 2021-02-30", "wg.yaml")


def test_deep_flow_yaml_is_refused_before_parsing() -> None:
    with pytest.raises(InputError, match="nested more than 200 levels"):
        load_yaml("a: " + "[" * 5000 + "]" * 5000, "wg.yaml")


def test_json_refuses_nan_and_infinity() -> None:
    with pytest.raises(InputError, match=r"^m\.json: NaN is not JSON \(write a number or null\)$"):
        load_json('{"a": NaN}', "m.json")
    with pytest.raises(InputError, match="-Infinity is not JSON"):
        load_json("[-Infinity]", "m.json")
