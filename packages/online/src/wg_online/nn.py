"""Fwumious Wabbit's deep layers: the ``--nn`` options, the graph's geometry, initial weights.

The network reads ``x0 = [LR_0 .. LR_{C-1}, t_0 .. t_{T-1}]``: the logistic-regression sum of
each feature combo (see :func:`wg_online.model.lr_combos`), then the FFM score of each field
pair, row by row as FW's triangle block (``t[i(i+1)/2 + j]`` is fields i and j, ``j <= i``).
Each layer is a dense layer, then optionally a normalisation ("layernorm") before or after an
optional ReLU. A final neuron (weights 1, bias 0 at the start) sums the last layer's outputs
and, in topologies ``one``, ``four`` and ``five``, ``x0`` itself (a skip connection). FW's
``regressor.rs`` and ``block_neural.rs``; the kernel is :mod:`wg_online.deep`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: --nn_topology values, as FW numbers them; the kernel gets the number.
TOPOLOGIES = {"one": 1, "two": 2, "four": 4, "five": 5}
ACTIVATIONS = ("none", "relu")
INITS = ("hu", "xavier", "one", "zero")
LAYERNORMS = ("none", "before", "after")
#: FW's MAX_NUM_INPUTS: a dense layer reads fewer inputs than this.
MAX_INPUTS = 16000
MAX_WIDTH = 16000
#: Columns of :attr:`Graph.rows`, one row per dense layer and a last one for the final neuron.
N_IN, N_OUT, W_OFF, IN_OFF, PRE_OFF, OUT_OFF, RELU, NORM = range(8)


class LayerError(ValueError):
    """A bad ``--nn`` / ``--nn_layers`` / ``--nn_topology``; the message names the flag."""


@dataclass(frozen=True)
class Layer:
    """One hidden layer's options, FW's defaults."""

    width: int = 20
    activation: str = "none"
    init: str = "hu"
    layernorm: str = "none"
    maxnorm: float = 0.0


def _value(entry: str, key: str, text: str) -> object:
    bad = f"--nn {entry!r}: "
    if key == "width":
        if not text.isdigit() or not 1 <= int(text) <= MAX_WIDTH:
            raise LayerError(f"{bad}the width is a whole number from 1 to {MAX_WIDTH}")
        return int(text)
    if key in ("maxnorm", "dropout"):
        try:
            number = float(text)
        except ValueError:
            number = math.nan
        if not math.isfinite(number) or number < 0:
            raise LayerError(f"{bad}{key} is a finite number >= 0")
        if key == "dropout" and number != 0:
            raise LayerError(f"{bad}dropout is not supported (FW refuses it too); drop it")
        return number
    choices = {"activation": ACTIVATIONS, "init": INITS, "layernorm": LAYERNORMS}[key]
    if text not in choices:
        raise LayerError(f"{bad}{key} is one of {list(choices)}")
    return text


def parse_layers(n_layers: int, entries: tuple[str, ...]) -> tuple[Layer, ...]:
    """The layers of ``--nn_layers n_layers`` with the ``--nn i:key:value`` entries applied.

    Examples
    --------
    >>> parse_layers(2, ("0:width:8", "1:activation:relu"))[1]
    Layer(width=20, activation='relu', init='hu', layernorm='none', maxnorm=0.0)
    >>> parse_layers(1, ("1:width:8",))
    Traceback (most recent call last):
    ...
    wg_online.nn.LayerError: --nn '1:width:8': layer 1 is beyond --nn_layers 1 (layers are \
numbered from 0)
    """
    options: list[dict[str, object]] = [{} for _ in range(n_layers)]
    for entry in entries:
        parts = entry.split(":")
        if len(parts) != 3 or not parts[0].isdigit():
            raise LayerError(f"--nn {entry!r}: write LAYER:KEY:VALUE, e.g. --nn 0:width:32")
        i, key, text = int(parts[0]), parts[1], parts[2]
        if i >= n_layers:
            raise LayerError(
                f"--nn {entry!r}: layer {i} is beyond --nn_layers {n_layers} "
                "(layers are numbered from 0)"
            )
        if key not in ("width", "activation", "init", "layernorm", "maxnorm", "dropout"):
            raise LayerError(
                f"--nn {entry!r}: unknown key {key!r}; use width, activation, init, "
                "layernorm or maxnorm"
            )
        value = _value(entry, key, text)
        if key != "dropout":
            options[i][key] = value
    return tuple(Layer(**opts) for opts in options)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Graph:
    """Sizes and offsets of a deep model: ``rows`` (int64, columns N_IN..NORM) per dense layer
    and the final neuron, the flat weight array's length and the tape's length."""

    n_combos: int
    n_pairs: int
    topology: str
    layers: tuple[Layer, ...]
    rows: np.ndarray
    size: int
    tape: int

    @property
    def n0(self) -> int:
        return self.n_combos + self.n_pairs

    def describe(self) -> dict[str, object]:
        """The graph as JSON-ready values (the model file's ``graph`` header field)."""
        return {
            "topology": self.topology,
            "inputs": [self.n_combos, self.n_pairs],
            "layers": [
                {**vars(layer), "n_in": int(row[N_IN]), "offset": int(row[W_OFF])}
                for layer, row in zip(self.layers, self.rows, strict=False)
            ],
            "final": {"n_in": int(self.rows[-1, N_IN]), "offset": int(self.rows[-1, W_OFF])},
            "weights": self.size,
        }


def build_graph(
    n_combos: int, n_fields: int, ffm_k: int, topology: str, layers: tuple[Layer, ...]
) -> Graph:
    """Lay out the layers' weights (a layer's ``n_in * n_out`` weights, then its biases; see
    :func:`file_layout` for their order) and the tape.

    The tape holds x0, then (topology ``four``) x0 normalised, then each layer's values before
    its ReLU and its output. The final neuron's row has N_IN = the last layer's width plus the
    skip connection's ``n0`` (0 under ``two``), IN_OFF the last layer's output.

    Examples
    --------
    >>> g = build_graph(3, 2, 4, "one", (Layer(width=8), Layer(width=4)))
    >>> g.n0, g.rows[:, N_IN].tolist(), g.size
    (6, [6, 8, 10], 103)
    """
    if topology not in TOPOLOGIES:
        raise LayerError(f"--nn_topology {topology!r}: use one of {list(TOPOLOGIES)}")
    n0 = n_combos + (n_fields * (n_fields + 1) // 2 if ffm_k > 0 else 0)
    rows = np.zeros((len(layers) + 1, 8), np.int64)
    tape = 2 * n0 if topology == "four" else n0
    n_in, in_off, w_off = n0, tape - n0, 0
    for row, layer in zip(rows, layers, strict=False):
        if n_in >= MAX_INPUTS:
            raise LayerError(f"a layer with {n_in} inputs: FW allows fewer than {MAX_INPUTS}")
        norm = LAYERNORMS.index(layer.layernorm)
        row[:] = n_in, layer.width, w_off, in_off, tape, tape + layer.width, 0, norm
        row[RELU] = layer.activation == "relu"
        w_off += (n_in + 1) * layer.width
        n_in, in_off, tape = layer.width, tape + layer.width, tape + 2 * layer.width
    skip = 0 if topology == "two" else n0
    rows[-1] = n_in + skip, 1, w_off, in_off, tape, tape, 0, 0
    if n_in + skip >= MAX_INPUTS:
        raise LayerError(f"the final neuron reads {n_in + skip} inputs: lower the widths")
    return Graph(n_combos, n0 - n_combos, topology, layers, rows, w_off + n_in + skip + 1, tape)


def _relayout(graph: Graph, nn: np.ndarray, to_file: bool) -> np.ndarray:
    out = np.array(nn, np.float32, copy=True)
    for row in graph.rows[:-1]:
        n_in, n_out, off = int(row[N_IN]), int(row[N_OUT]), int(row[W_OFF])
        shape = (n_in, n_out) if to_file else (n_out, n_in)
        out[off : off + n_in * n_out] = nn[off : off + n_in * n_out].reshape(shape).T.ravel()
    return out


def file_layout(graph: Graph, nn: np.ndarray) -> np.ndarray:
    """A copy of ``nn`` (or ``nnacc``) in the model file's order: each layer's weights unit by
    unit (unit j's inputs together, FW's order), then its biases.

    In memory the kernel keeps each layer input by input (input i's weights to every unit
    together, :func:`kernel_layout`): the forward pass is then a vector update over the units
    per input, skipping the zeros a ReLU leaves, and the backward pass steps one contiguous
    row per nonzero input. The final neuron has one unit, so both orders are the same there.

    Examples
    --------
    >>> g2 = build_graph(2, 0, 0, "two", (Layer(width=3),))  # 2 inputs, 3 units
    >>> kernel = np.arange(g2.size, dtype=np.float32)
    >>> file_layout(g2, kernel)[:6].tolist()  # unit 0 reads inputs 0, 1 at 0 and 3
    [0.0, 3.0, 1.0, 4.0, 2.0, 5.0]
    >>> np.array_equal(kernel_layout(g2, file_layout(g2, kernel)), kernel)
    True
    """
    return _relayout(graph, nn, True)


def kernel_layout(graph: Graph, nn: np.ndarray) -> np.ndarray:
    """A copy of ``nn`` (or ``nnacc``) read from a model file, in the kernel's order (see
    :func:`file_layout`)."""
    return _relayout(graph, nn, False)


def init_weights(graph: Graph, seed: int) -> np.ndarray:
    """Initial weights in the kernel's order: each layer's ``init`` (biases 0), the final
    neuron's weights 1. The draws go unit by unit (the file's order), as before the kernel
    kept its layers input by input, so a seed gives the same model as then.

    ``hu`` is Normal(0, sqrt(2 / n_in)); ``xavier`` Uniform(-b, b) with FW's
    ``b = sqrt(6) / sqrt(n_in * n_out)``. The draws are NumPy's, not FW's xoshiro: the same
    distributions, not the same numbers.

    Examples
    --------
    >>> g = build_graph(1, 0, 0, "one", (Layer(width=2, init="one"),))
    >>> init_weights(g, 0).tolist()
    [1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0]
    """
    nn = np.zeros(graph.size, np.float32)
    rng = np.random.default_rng(seed)
    for layer, row in zip(graph.layers, graph.rows, strict=False):
        n_in, n_out, off = int(row[N_IN]), int(row[N_OUT]), int(row[W_OFF])
        if layer.init == "hu":
            values = rng.normal(0.0, math.sqrt(2.0 / n_in), n_in * n_out)
        elif layer.init == "xavier":
            bound = math.sqrt(6.0) / math.sqrt(n_in * n_out)
            values = rng.uniform(-bound, bound, n_in * n_out)
        else:
            values = np.full(n_in * n_out, 1.0 if layer.init == "one" else 0.0)
        nn[off : off + n_in * n_out] = values
    final = graph.rows[-1]
    nn[final[W_OFF] : final[W_OFF] + final[N_IN]] = 1.0
    return kernel_layout(graph, nn)
