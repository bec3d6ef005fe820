"""Losses, each returning the mean loss and its gradient with respect to the network output."""

from __future__ import annotations

from typing import Any

from wg_convnet.backend import array_namespace, device
from wg_convnet.errors import ShapeError

Array = Any

LOSSES = ("cross_entropy", "mse")


def one_hot(labels: Array, num_classes: int, dtype: Any) -> Array:
    """(N,) integer labels -> (N, num_classes) one-hot matrix of ``dtype``.

    Examples
    --------
    >>> import numpy as np
    >>> one_hot(np.array([2, 0]), 3, np.float32)
    array([[0., 0., 1.],
           [1., 0., 0.]], dtype=float32)
    """
    xp = array_namespace(labels)
    classes = xp.arange(num_classes, dtype=labels.dtype, device=device(labels))
    return xp.astype(labels[:, None] == classes[None, :], dtype)


def softmax_cross_entropy(logits: Array, labels: Array) -> tuple[float, Array]:
    """Mean softmax cross-entropy of (N, K) logits against (N,) integer labels, and d loss/d logits.

    Examples
    --------
    >>> import numpy as np
    >>> loss, grad = softmax_cross_entropy(np.zeros((2, 4)), np.array([0, 3]))
    >>> round(loss, 6), grad[0].tolist()
    (1.386294, [-0.375, 0.125, 0.125, 0.125])
    """
    xp = array_namespace(logits)
    if len(logits.shape) != 2 or labels.shape != (logits.shape[0],):
        raise ShapeError(
            f"softmax cross-entropy needs logits (N, K) and labels (N,), got {tuple(logits.shape)} "
            f"and {tuple(labels.shape)}; the last layer must output one score per class"
        )
    shifted = logits - xp.max(logits, axis=1, keepdims=True)
    e = xp.exp(shifted)
    total = xp.sum(e, axis=1, keepdims=True)
    target = one_hot(labels, logits.shape[1], logits.dtype)
    n = logits.shape[0]
    loss = xp.sum(xp.log(total)) - xp.sum(shifted * target)
    return float(loss) / n, (e / total - target) / n


def mean_squared_error(pred: Array, target: Array) -> tuple[float, Array]:
    """Mean over all elements of (pred - target)^2, and its gradient.

    Examples
    --------
    >>> import numpy as np
    >>> loss, grad = mean_squared_error(np.array([1.0, 3.0]), np.array([0.0, 0.0]))
    >>> loss, grad.tolist()
    (5.0, [1.0, 3.0])
    """
    if tuple(pred.shape) != tuple(target.shape):
        raise ShapeError(
            f"mean squared error needs targets of the output's shape {tuple(pred.shape)}, "
            f"got {tuple(target.shape)}"
        )
    xp = array_namespace(pred)
    diff = pred - xp.astype(target, pred.dtype)
    size = 1
    for dim in pred.shape:
        size *= dim
    return float(xp.sum(diff * diff)) / size, diff * (2.0 / size)
