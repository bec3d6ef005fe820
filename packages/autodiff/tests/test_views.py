"""Views of traced arrays (``wg_autodiff.views``): a write NumPy would see through shared memory
either gives the right derivative or raises, never the derivative of a different program."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import wg_autodiff as ad
from wg_autodiff.errors import TracerConversionError

X = np.array([[0.7, -1.3, 0.4], [1.1, 0.2, -0.5]])


def write_beside_view(x: np.ndarray) -> Any:
    y = x * 1.0
    row = y[1]  # a view of row 1; the write below is into row 0
    y[0, 1] = 3.0 * x[1, 1] ** 2
    return np.sum(row * 2.0) + np.sum(np.sin(y))


def copy_before_write(x: np.ndarray) -> Any:
    y = np.exp(x)
    old = y[0].copy()  # a copy keeps the old values, as in NumPy
    y[0] = x[1] * 2.0
    return np.sum(old * y[0]) + np.sum(y.T[1:] ** 2)


def view_after_write(x: np.ndarray) -> Any:
    y = x * 1.0
    y[:, 0] = np.tanh(x[:, 2])
    t = y.T  # taken after the write: it sees it, as NumPy's does
    return np.sum(t[0] * t[2])


def loop_rows(x: np.ndarray) -> Any:
    y = np.zeros_like(x)
    for i in range(1, x.shape[0]):
        prev = y[i - 1]  # a view of another row than the one written
        y[i] = prev + np.sin(x[i])
    return np.sum(y**2)


@pytest.mark.parametrize("f", [write_beside_view, copy_before_write, view_after_write, loop_rows])
def test_writes_beside_views_differentiate(f: Any) -> None:
    ad.check_grads(f, (X,), order=2, modes=("fwd", "rev"))
    np.testing.assert_allclose(ad.grad(f, optimize=True)(X), ad.grad(f)(X), rtol=1e-12)


def test_the_value_is_numpys() -> None:
    for f in (write_beside_view, copy_before_write, view_after_write, loop_rows):
        value, _ = ad.value_and_grad(f)(X)
        assert np.isclose(value, f(X.copy()), rtol=1e-14)


def write_into_row(x: np.ndarray) -> Any:
    y = np.zeros_like(x)
    y[0][1] = x[0, 0] * 2.0  # NumPy writes into y through the row view
    return np.sum(y)


def write_into_named_row(x: np.ndarray) -> Any:
    y = x * 1.0
    row = y[1]
    row[0] = x[0, 0] ** 2
    return np.sum(y)


def write_into_transpose(x: np.ndarray) -> Any:
    y = x * 1.0
    y.T[0] = 1.0 + x[0, 0]
    return np.sum(y)


def write_into_reshape(x: np.ndarray) -> Any:
    y = x * 1.0
    np.reshape(y, (-1,))[0] = x[1, 1] * 3.0
    return np.sum(y)


def copyto_into_slice(x: np.ndarray) -> Any:
    y = x * 1.0
    np.copyto(y[:, 1:], x[:, :2] ** 2)
    return np.sum(y)


@pytest.mark.parametrize(
    "f",
    [
        write_into_row,
        write_into_named_row,
        write_into_transpose,
        write_into_reshape,
        copyto_into_slice,
    ],
)
def test_a_write_into_a_view_raises(f: Any) -> None:
    with pytest.raises(TracerConversionError, match="into a view of a traced array") as err:
        ad.grad(f)(X)
    assert "test_views.py" in str(err.value)  # names the user's line
    assert "y[i, j] = v" in str(err.value)  # and the rewrite


def stale_row(x: np.ndarray) -> Any:
    y = x * 1.0
    row = y[0]
    y[0, 1] = x[1, 1] * 2.0  # NumPy's row would show this value
    return np.sum(row)


def stale_transpose(x: np.ndarray) -> Any:
    y = x * 1.0
    t = y.T
    y[1] = np.cos(x[0])
    return np.sum(t)


def stale_view_of_view(x: np.ndarray) -> Any:
    y = x * 1.0
    v = y[:, 1:][0]
    y[0, 2] = x[1, 0] ** 2
    return np.sum(v)


def stale_after_sort(x: np.ndarray) -> Any:
    y = x * 1.0
    r = y.reshape(-1)
    y.sort()
    return np.sum(r * np.arange(r.shape[0]))


@pytest.mark.parametrize(
    "f",
    [stale_row, stale_transpose, stale_view_of_view, stale_after_sort],
)
@pytest.mark.parametrize("transform", [ad.grad, lambda f: ad.jacfwd(f)])
def test_a_view_used_after_a_write_into_its_array_raises(f: Any, transform: Any) -> None:
    with pytest.raises(TracerConversionError, match="taken before a traced value was written"):
        transform(f)(X)


def test_optimize_sees_the_same_refusals_and_values() -> None:
    with pytest.raises(TracerConversionError, match="taken before"):
        ad.grad(stale_row, optimize=True)(X)
    got = ad.grad(write_beside_view, optimize=True)(X)
    np.testing.assert_allclose(got, ad.grad(write_beside_view)(X), rtol=1e-12)


def test_many_reads_keep_few_view_records() -> None:
    from wg_autodiff import views

    sizes = []

    def reads(x: np.ndarray) -> Any:
        y = x * 1.0
        total = 0.0
        for i in range(5000):
            total = total + y[i % 2] * 1e-3  # 5000 views, each dead after its line
        sizes.append(len(views._RECORDS.views))
        y[0, 0] = x[0, 0]
        sizes.append(len(views._RECORDS.views))
        return np.sum(total)

    ad.grad(reads)(X)
    assert sizes[0] <= 5000 - 4096 + 16  # the dead ones dropped at 1024, 2048 and 4096
    assert sizes[1] <= 4
