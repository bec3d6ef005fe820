"""--vwcompat: per-example predictions equal Vowpal Wabbit's (the wheel is the reference)."""

from __future__ import annotations

import numpy as np
import pytest
from wg_online.datagen import ctr
from wg_online.model import Model, Options
from wg_online.parsing import parse_bytes

vowpalwabbit = pytest.importorskip(
    "vowpalwabbit", reason="the VW reference is absent: pip install vowpalwabbit"
)


def vw_progressive(text: str, flags: str) -> np.ndarray:
    """VW's prediction for each line before learning from it (progressive validation)."""
    ws = vowpalwabbit.Workspace(
        f"--quiet --adaptive --loss_function logistic --link logistic {flags}"
    )
    out = []
    for line in text.splitlines():
        if not line.strip():
            continue
        ex = ws.parse(line)
        ws.learn(ex)
        out.append(ex.get_simplelabel_prediction())
        ws.finish_example(ex)
    ws.finish()
    return np.array(out)


def ours(text: str, **options) -> np.ndarray:
    model = Model.new(Options(vwcompat=True, **options))
    preds, _, _ = model.run(parse_bytes(text.encode()), learn=True)
    return preds.astype(np.float64)


def mixed_text(n: int) -> str:
    rows = []
    for i, line in enumerate(ctr(n, seed=3).lines()):
        label, rest = line.split(" ", 1)
        imp = f" {1 + i % 3}" if i % 4 == 0 else ""
        rows.append(f"{label}{imp} 't{i}{rest.replace('|c', '|c:0.5').replace(' e', ' e:2.5')}")
    return "\n".join(rows) + "\n"


CASES = [
    ("-l 0.5 -b 18", {"learning_rate": 0.5}),
    ("-l 0.3 --power_t 0.4 -b 20", {"learning_rate": 0.3, "power_t": 0.4, "bit_precision": 20}),
    ("-l 0.5 -q ab -q cd -b 18", {"interactions": ("ab", "cd")}),
    (
        "-l 1 --noconstant --ignore d -q aa -b 16",
        {
            "learning_rate": 1.0,
            "noconstant": True,
            "ignore": "d",
            "interactions": ("aa",),
            "bit_precision": 16,
        },
    ),
    # cubic, repeated namespaces, and VW's treatment of permutations (sorted once duplicated)
    ("-l 0.5 --interactions abc --cubic eed -b 18", {"interactions": ("abc", "eed")}),
    (
        "-l 0.5 -q ba -q ab --interactions aba --interactions cba -b 18",
        {"interactions": ("ba", "ab", "aba", "cba")},
    ),
]


@pytest.mark.parametrize(("flags", "options"), CASES)
def test_predictions_equal_vw(flags: str, options: dict) -> None:
    text = mixed_text(1500)
    expected = vw_progressive(text, flags)
    got = ours(text, **options)
    assert got.shape == expected.shape == (1500,)
    np.testing.assert_allclose(got, expected, atol=1e-6, rtol=0)


@pytest.mark.corpus
def test_rcv1_predictions_equal_vw(vw_corpus) -> None:
    text = (vw_corpus / "rcv1_small.dat").read_text()
    np.testing.assert_allclose(
        ours(text, learning_rate=0.5, bit_precision=18),
        vw_progressive(text, "-l 0.5 -b 18"),
        atol=1e-6,
        rtol=0,
    )


def test_without_vwcompat_labels_zero_are_negative() -> None:
    text = "0 | a\n1 | b\n" * 20
    plain = Model.new(Options())
    compat = Model.new(Options(vwcompat=True))
    plain.run(parse_bytes(text.encode()), learn=True)
    compat.run(parse_bytes(text.encode()), learn=True)
    p_plain, _, _ = plain.run(parse_bytes(b"| a\n"), learn=False)
    p_compat, _, _ = compat.run(parse_bytes(b"| a\n"), learn=False)
    assert p_plain[0] < 0.2  # learned from label 0 as the negative class
    assert p_compat[0] > 0.5  # VW's logistic loss has no gradient at label 0
