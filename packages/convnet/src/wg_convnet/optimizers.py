"""Optimisers that update parameter arrays in place from their gradients."""

from __future__ import annotations

import math
from typing import Any

from wg_convnet.backend import array_namespace

Array = Any


def _finite(*values: float) -> bool:
    try:
        return all(math.isfinite(float(v)) for v in values)
    except (TypeError, ValueError):
        return False


def _positive(value: float) -> bool:
    """True for a finite number > 0 (NaN compares false with everything, so test it first)."""
    return _finite(value) and value > 0


class Optimizer:
    """Base class: ``step(params, grads)`` updates each ``params[i]`` in place from ``grads[i]``."""

    def __init__(self) -> None:
        self._slots: dict[int, dict[str, Array]] = {}
        self.iterations = 0

    def step(self, params: list[Array], grads: list[Array]) -> None:
        self.iterations += 1
        for index, (p, g) in enumerate(zip(params, grads, strict=True)):
            self._update(index, p, g)

    def _update(self, index: int, p: Array, g: Array) -> None:
        raise NotImplementedError

    def _slot(self, index: int, name: str, like: Array) -> Array:
        slots = self._slots.setdefault(index, {})
        if name not in slots:
            slots[name] = like * 0
        return slots[name]


class SGD(Optimizer):
    """Stochastic gradient descent with optional (Nesterov) momentum and L2 weight decay.

    Same update rule as ``torch.optim.SGD`` (dampening 0).

    Examples
    --------
    >>> import numpy as np
    >>> w = np.array([1.0])
    >>> opt = SGD(lr=0.1, momentum=0.9)
    >>> for _ in range(2):
    ...     opt.step([w], [np.array([1.0])])
    >>> w
    array([0.71])
    """

    def __init__(
        self,
        lr: float = 0.01,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__()
        if not (
            _positive(lr) and _finite(momentum, weight_decay) and momentum >= 0 <= weight_decay
        ):
            raise ValueError(
                "SGD needs a finite lr > 0, momentum >= 0 and weight_decay >= 0, got "
                f"lr={lr!r}, momentum={momentum!r}, weight_decay={weight_decay!r}"
            )
        if nesterov and momentum == 0:
            raise ValueError("Nesterov momentum needs momentum > 0")
        self.lr, self.momentum, self.nesterov = float(lr), float(momentum), nesterov
        self.weight_decay = float(weight_decay)

    def _update(self, index: int, p: Array, g: Array) -> None:
        if self.weight_decay:
            g = g + self.weight_decay * p
        if self.momentum:
            buf = self._slot(index, "momentum", p)
            buf *= self.momentum
            buf += g
            g = g + self.momentum * buf if self.nesterov else buf
        p -= self.lr * g


class Adam(Optimizer):
    """Adam (Kingma & Ba) with bias correction; ``weight_decay`` adds an L2 term to the gradient.

    Examples
    --------
    >>> import numpy as np
    >>> w = np.array([1.0])
    >>> Adam(lr=0.1).step([w], [np.array([5.0])])
    >>> np.round(w, 6)
    array([0.9])
    """

    def __init__(
        self,
        lr: float = 1e-3,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__()
        betas_ok = _finite(beta1, beta2) and 0 <= beta1 < 1 and 0 <= beta2 < 1
        if not (_positive(lr) and betas_ok and _positive(eps) and _finite(weight_decay)):
            raise ValueError(
                "Adam needs a finite lr > 0, 0 <= beta1, beta2 < 1 and a finite eps > 0, got "
                f"lr={lr!r}, beta1={beta1!r}, beta2={beta2!r}, eps={eps!r}"
            )
        self.lr, self.beta1, self.beta2, self.eps = float(lr), float(beta1), float(beta2), eps
        self.weight_decay = float(weight_decay)

    def _update(self, index: int, p: Array, g: Array) -> None:
        xp = array_namespace(p)
        if self.weight_decay:
            g = g + self.weight_decay * p
        m, v = self._slot(index, "m", p), self._slot(index, "v", p)
        m *= self.beta1
        m += (1 - self.beta1) * g
        v *= self.beta2
        v += (1 - self.beta2) * (g * g)
        t = self.iterations
        step = self.lr / (1 - self.beta1**t)
        p -= step * m / (xp.sqrt(v / (1 - self.beta2**t)) + self.eps)
