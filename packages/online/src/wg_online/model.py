"""Model options and state: logistic regression weights, AdaGrad accumulators, FFM embeddings."""

from __future__ import annotations

import dataclasses
import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from wg_online.parsing import Parsed

MAX_FIELDS = 128
#: Largest FFM embedding: FW's models use k of 1..64.
MAX_FFM_K = 1024
#: Largest FFM table (8 GiB of float32); a larger one is a typo, not a model.
MAX_FFM_WEIGHTS = 1 << 31
FFM_LAYOUTS = ("fw", "blocks")


class OptionsError(ValueError):
    """Hyperparameters that do not make sense together; the message says how to fix them."""


@dataclass(frozen=True)
class Options:
    """Every hyperparameter that shapes a model; stored in the model file's header.

    Namespaces are named by their first character, as in VW (``-q ab`` pairs ``|a...`` with
    ``|b...``); ``ffm_fields`` lists, per field, the namespace characters that belong to it.
    """

    bit_precision: int = 18
    interactions: tuple[str, ...] = ()
    keep: str = ""
    ignore: str = ""
    learning_rate: float = 0.5
    power_t: float = 0.5
    l2: float = 0.0
    noconstant: bool = False
    vwcompat: bool = False
    ffm_k: int = 0
    ffm_fields: tuple[str, ...] = ()
    ffm_bit_precision: int = 18
    ffm_learning_rate: float = 0.1
    ffm_init: float = 0.1
    #: FW's --ffm_init_width (-1: ours above; a number >= 0: FW's initialiser, ffm_init.py).
    #: Not NaN: options compare equal after a model file round trip only without NaN fields.
    ffm_init_width: float = -1.0
    ffm_init_center: float = 0.0
    ffm_init_zero_band: float = 0.0
    #: FW's --ffm_init_acc_gradient: where the FFM weights' AdaGrad sums start (FW's default
    #: inherits its LR's 1.0; ours is 0, as VW's and our LR's sums start)
    ffm_init_acc_gradient: float = 0.0
    seed: int = 0
    #: FW's ``--transform`` values (:mod:`wg_online.transforms`), applied when examples are parsed
    transforms: tuple[str, ...] = ()
    #: FW's ``--linear name1[,name2...][:w]`` values: each its own LR combo (and deep input)
    linear: tuple[str, ...] = ()
    #: FW's ``--minimum_learning_rate``: stored, read by no optimizer (as in FW: no effect)
    minimum_learning_rate: float = 0.0
    namespace_map: tuple[str, ...] = ()
    ffm_layout: str = "fw"
    nn_layers: int = 0
    nn: tuple[str, ...] = ()
    nn_topology: str = "one"
    #: NaN: inherit (FW's chain): nn_learning_rate <- ffm_learning_rate, nn_power_t <- power_t
    nn_learning_rate: float = math.nan
    nn_power_t: float = math.nan
    nn_init_acc_gradient: float = 1.0

    def __post_init__(self) -> None:
        _check_types(self)
        if math.isnan(self.nn_learning_rate):
            object.__setattr__(self, "nn_learning_rate", self.ffm_learning_rate)
        if math.isnan(self.nn_power_t):
            object.__setattr__(self, "nn_power_t", self.power_t)
        _check_numbers(self)
        if not (self.ffm_init_width == -1.0 or 0 <= self.ffm_init_width < math.inf):
            raise OptionsError(
                f"--ffm_init_width {self.ffm_init_width!r} is out of range: "
                "use a finite number >= 0 (or leave the flag out for wg_online's initialiser)"
            )
        _check_deep(self)
        if self.ffm_layout not in FFM_LAYOUTS:
            raise OptionsError(f"FFM layout {self.ffm_layout!r}: use one of {list(FFM_LAYOUTS)}")
        for inter in self.interactions:
            if len(inter) not in (2, 3):
                raise OptionsError(
                    f"interaction {inter!r}: interactions are of two or three namespace "
                    "characters (quadratic or cubic), e.g. -q ab or --interactions abc"
                )
        letters = "".join(self.interactions) + self.keep + self.ignore + "".join(self.ffm_fields)
        if not letters.isascii():
            raise OptionsError(
                f"namespace letters {letters!r} must be ASCII: namespaces are "
                "named by their first byte, as in VW"
            )
        if self.ffm_k > 0 and not self.ffm_fields:
            raise OptionsError(
                "--ffm_k needs k >= 0 and at least one --ffm_field, e.g. --ffm_field a"
            )
        if len(self.ffm_fields) > MAX_FIELDS:
            raise OptionsError(f"{len(self.ffm_fields)} FFM fields; at most {MAX_FIELDS} allowed")
        for entry in self.namespace_map:
            if len(entry) < 2 or not entry[0].isascii():
                raise OptionsError(
                    f"namespace map entry {entry!r}: write an ASCII letter then the namespace"
                )
        if ffm_geometry(self)[2] > MAX_FFM_WEIGHTS:
            raise OptionsError(
                f"the FFM table would hold {ffm_geometry(self)[2]} weights (at most "
                f"{MAX_FFM_WEIGHTS}): lower --ffm_bit_precision, --ffm_k or the fields"
            )
        if self.vwcompat and self.ffm_k > 0:
            raise OptionsError("--ffm_k with --vwcompat: VW has no FFM; drop --ffm_k")
        if self.transforms or self.linear:
            _check_transforms(self)

    @property
    def feature_specs(self) -> tuple[str, ...]:
        """What the parser applies: the ``--transform`` values, then the ``--linear`` ones
        (marked with ``transforms.LINEAR_PREFIX``)."""
        if not self.linear:
            return self.transforms
        from wg_online.combos import LINEAR_PREFIX

        return self.transforms + tuple(LINEAR_PREFIX + spec for spec in self.linear)

    def to_json(self) -> dict[str, Any]:
        """The options as JSON-ready values."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self.asdict().items()}

    def asdict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Options:
        if not isinstance(data, dict):
            raise OptionsError("the options are not a JSON object")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise OptionsError(
                f"unknown model options {unknown}: the model needs a newer wg_online"
            )
        values: dict[str, Any] = {
            k: tuple(v) if isinstance(v, list) else v for k, v in data.items()
        }
        return cls(**values)


#: The flag that sets each option, for messages (options without a flag go by their name).
FLAGS = {
    "bit_precision": "-b/--bit_precision",
    "learning_rate": "-l/--learning_rate",
    "power_t": "--power_t",
    "l2": "--l2",
    "minimum_learning_rate": "--minimum_learning_rate",
    "ffm_k": "--ffm_k",
    "ffm_bit_precision": "--ffm_bit_precision",
    "ffm_learning_rate": "--ffm_learning_rate",
    "ffm_init_zero_band": "--ffm_init_zero_band",
    "ffm_init_center": "--ffm_init_center",
    "ffm_init_width": "--ffm_init_width",
    "ffm_init_acc_gradient": "--ffm_init_acc_gradient",
    "ffm_layout": "--ffm_layout",
    "interactions": "-q/--cubic/--interactions",
    "ffm_fields": "--ffm_field",
    "nn_layers": "--nn_layers",
    "nn_learning_rate": "--nn_learning_rate",
    "nn_power_t": "--nn_power_t",
    "nn_init_acc_gradient": "--nn_init_acc_gradient",
}
#: Numeric ranges, (low, high, low is allowed): every number must also be finite.
F32_MAX = float(np.finfo(np.float32).max)
"""The largest rate the kernels can hold: they compute in float32."""

RANGES: dict[str, tuple[float, float, bool]] = {
    "bit_precision": (1, 30, True),
    "ffm_bit_precision": (1, 30, True),
    "learning_rate": (0.0, F32_MAX, False),
    "power_t": (0.0, F32_MAX, True),
    "l2": (0.0, F32_MAX, True),
    "ffm_k": (0, MAX_FFM_K, True),
    "ffm_learning_rate": (0.0, F32_MAX, False),
    "ffm_init": (0.0, F32_MAX, True),
    "ffm_init_center": (-F32_MAX, F32_MAX, True),
    "ffm_init_zero_band": (0.0, 1.0, True),
    "ffm_init_acc_gradient": (0.0, F32_MAX, True),
    "seed": (0, 2**63 - 1, True),
    "minimum_learning_rate": (0.0, F32_MAX, True),
    "nn_layers": (0, 64, True),
    "nn_learning_rate": (0.0, F32_MAX, False),
    "nn_power_t": (0.0, F32_MAX, True),
    "nn_init_acc_gradient": (0.0, F32_MAX, True),
}


def _flag(name: str) -> str:
    return FLAGS.get(name, name)


def _article(noun: str) -> str:
    return f"{'an' if noun[0] in 'aeiou' else 'a'} {noun}"


def _check_types(options: Options) -> None:
    """Each option has its field's type: an int for ints (not a bool), a number for floats,
    a string of strings for tuples (model headers and library callers can pass anything)."""
    for f in dataclasses.fields(options):
        value, kind = getattr(options, f.name), type(f.default)
        if kind is tuple:
            ok = isinstance(value, tuple) and all(isinstance(v, str) for v in value)
        elif kind is float:
            ok = isinstance(value, int | float) and not isinstance(value, bool)
        elif kind is int:
            ok = isinstance(value, int) and not isinstance(value, bool)
        else:
            ok = isinstance(value, kind)
        if not ok:
            raise OptionsError(
                f"{_flag(f.name)} {value!r}: expected "
                f"{'a tuple of strings' if kind is tuple else _article(kind.__name__)}"
            )


def _check_numbers(options: Options) -> None:
    """Every number finite and in its range (NaN or infinite rates train NaN models)."""
    for name, (low, high, low_ok) in RANGES.items():
        value = getattr(options, name)
        inside = math.isfinite(value) and (value >= low if low_ok else value > low)
        if not inside or value > high:
            if isinstance(low, int):
                fix = f"use a whole number from {low} to {high}"
            else:
                fix = f"use a finite number {'>=' if low_ok else '>'} {low}, at most {high:.7g}"
            raise OptionsError(f"{_flag(name)} {value!r} is out of range: {fix}")


def _check_deep(options: Options) -> None:
    """The ``--nn*`` options make a graph (see :mod:`wg_online.nn`); deep needs our learner."""
    from wg_online.nn import TOPOLOGIES, LayerError

    if options.nn_topology not in TOPOLOGIES:
        raise OptionsError(f"--nn_topology {options.nn_topology!r}: use one of {list(TOPOLOGIES)}")
    if options.nn and not options.nn_layers:
        raise OptionsError(f"--nn {options.nn[0]!r} without --nn_layers: add --nn_layers N")
    try:
        nn_graph(options)
    except LayerError as exc:
        raise OptionsError(str(exc)) from None
    if options.vwcompat and options.nn_layers:
        raise OptionsError("--nn_layers with --vwcompat: VW has no deep layers; drop --nn_layers")


def _single_combos(options: Options) -> int:
    """LR combos of single features: one per ``--keep`` letter (or one for all namespaces
    without ``--keep``), then one per ``--linear``."""
    return (len(dict.fromkeys(options.keep)) or 1) + len(options.linear)


def lr_combos(options: Options) -> int:
    """How many LR sums feed the deep layers (FW's combos): the keeps' and the ``--linear``
    ones (:func:`_single_combos`), one per interaction, then the constant's.

    Examples
    --------
    >>> lr_combos(Options(keep="ab", interactions=("ab", "ba", "cd"), linear=("user,ad",)))
    6
    """
    rows = len(_interaction_rows(options.interactions))
    return _single_combos(options) + rows + (not options.noconstant)


def nn_graph(options: Options) -> Any:
    """The deep model's :class:`wg_online.nn.Graph`, or None without ``--nn_layers``."""
    from wg_online.nn import build_graph, parse_layers

    if not options.nn_layers:
        return None
    layers = parse_layers(options.nn_layers, options.nn)
    n_fields = len(options.ffm_fields)
    return build_graph(lr_combos(options), n_fields, options.ffm_k, options.nn_topology, layers)


def _check_transforms(options: Options) -> None:
    from wg_online.combos import LinearError
    from wg_online.transforms import TransformError, TransformSet

    if options.vwcompat:
        raise OptionsError("--transform or --linear with --vwcompat: VW has neither; drop them")
    try:
        TransformSet.build(options.feature_specs, options.namespace_map)
    except (TransformError, LinearError) as exc:
        raise OptionsError(str(exc)) from None


def ffm_geometry(options: Options) -> tuple[int, int, int]:
    """(hash mask, stride, table length) of the FFM weights: a feature whose hash is ``h`` owns
    the ``fields * k`` weights from ``(h & mask) * stride``, ``k`` per field.

    ``"fw"`` (the default) is Fwumious Wabbit's table: ``--ffm_bit_precision b`` means 2**b
    weights in all (plus one block of padding). A block starts at the hash with its low bits
    cleared to a multiple of k (rounded up to a power of two), so blocks of different features
    overlap, as in FW. ``"blocks"`` is model format 1's: each of 2**b hash buckets owns a whole
    block, a table ``fields * k`` times larger. Without FFM the table is one unused weight.

    Examples
    --------
    >>> ffm_geometry(Options(ffm_k=4, ffm_fields=tuple("abcde"), ffm_bit_precision=18))
    (262140, 1, 262164)
    >>> o = Options(ffm_k=4, ffm_fields=("a", "b"), ffm_bit_precision=3, ffm_layout="blocks")
    >>> ffm_geometry(o)
    (7, 8, 64)
    """
    b, block = options.ffm_bit_precision, len(options.ffm_fields) * options.ffm_k
    if not block:  # no FFM: one unused weight keeps the kernel's arguments arrays
        return 0, 0, 1
    if options.ffm_layout == "blocks":
        return (1 << b) - 1, block, (1 << b) * block
    k_bits = (max(options.ffm_k, 1) - 1).bit_length()
    return ((1 << b) - 1) & ~((1 << k_bits) - 1), 1, (1 << b) + block


def _interaction_rows(interactions: tuple[str, ...]) -> np.ndarray:
    """Rows (a, b, -1) for pairs and (a, b, c) for triples, as VW expands its interactions.

    Permutations of one interaction count once and then take their sorted form, and so does an
    interaction that repeats a namespace (its equal letters adjacent); others keep their order.
    Measured against the ``vowpalwabbit`` wheel (``tests/test_vw_learner.py``).

    Examples
    --------
    >>> _interaction_rows(("ba", "ab", "cba", "aba")).tolist()
    [[97, 98, -1], [99, 98, 97], [97, 97, 98]]
    """
    groups: dict[tuple[int, ...], list[tuple[int, ...]]] = {}
    for inter in interactions:
        codes = tuple(ord(ch) for ch in inter)
        groups.setdefault(tuple(sorted(codes)), []).append(codes)
    rows = []
    for key, members in groups.items():
        codes = key if len(members) > 1 or len(set(key)) < len(key) else members[0]
        rows.append([*codes] + [-1] * (3 - len(codes)))
    return np.array(rows, dtype=np.int64).reshape(-1, 3)


@dataclass
class Model:
    """Options plus learned arrays; ``acc``, ``vacc`` and ``nnacc`` are AdaGrad's sums.

    ``nn`` holds a deep model's layers (:func:`nn_graph`; empty without ``--nn_layers``).
    """

    options: Options
    w: np.ndarray
    acc: np.ndarray
    v: np.ndarray
    vacc: np.ndarray
    examples_seen: int = 0
    nn: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    nnacc: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    #: an inference model (:mod:`wg_online.inference`): it predicts but refuses to learn
    inference: bool = False
    _tables: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def new(cls, options: Options) -> Model:
        """A fresh model with zero weights and small random FFM embeddings.

        Examples
        --------
        >>> Model.new(Options(bit_precision=4)).w.shape
        (16,)
        """
        size, n_v = 1 << options.bit_precision, ffm_geometry(options)[2]
        if options.ffm_k and options.ffm_init_width >= 0:
            from wg_online.ffm_init import fw_ffm_weights

            v = fw_ffm_weights(n_v, options.ffm_k, options.ffm_init_width,
                               options.ffm_init_center, options.ffm_init_zero_band)  # fmt: skip
        elif options.ffm_k:
            rng = np.random.default_rng(options.seed)
            scale = options.ffm_init / np.sqrt(options.ffm_k)
            v = rng.random(n_v, dtype=np.float32)
            v *= np.float32(scale)  # in place: each fresh array of this size is ~5k page faults
        else:
            v = np.zeros(n_v, np.float32)
        vacc = np.full_like(v, options.ffm_init_acc_gradient)  # FW: AdagradFlex's init_acc
        model = cls(options, np.zeros(size, np.float32), np.zeros(size, np.float32), v, vacc)
        graph = nn_graph(options)
        if graph is not None:
            from wg_online.nn import init_weights

            model.nn = init_weights(graph, options.seed)
            model.nnacc = np.full(graph.size, options.nn_init_acc_gradient, np.float32)
        return model

    def tables(self) -> dict[str, Any]:
        """The small lookup arrays the kernel needs (cached)."""
        if not self._tables:
            o = self.options
            active = np.ones(256, np.bool_)
            if o.keep:
                active[:] = False
                active[[ord(c) for c in o.keep]] = True
            active[[ord(c) for c in o.ignore]] = False
            field_of = np.full(256, -1, np.int64)
            for i, chars in enumerate(o.ffm_fields):
                field_of[[ord(c) for c in chars]] = i
            combo_of = np.zeros(256, np.int64)  # FW's combos: one per --keep letter
            for i, ch in enumerate(dict.fromkeys(o.keep)):
                combo_of[ord(ch)] = i
            from wg_online.combos import LINEAR_LETTER0

            first = _single_combos(o) - len(o.linear)
            for i in range(len(o.linear)):  # always read, whatever --keep and --ignore say
                active[LINEAR_LETTER0 + i] = True
                combo_of[LINEAR_LETTER0 + i] = first + i
            self._tables.update(
                active=active,
                pairs=_interaction_rows(o.interactions),
                field_of=field_of,
                combo_of=combo_of,
            )
        return self._tables

    def predict_one(
        self,
        labels: np.ndarray,
        imps: np.ndarray,
        offsets: np.ndarray,
        idx: np.ndarray,
        val: np.ndarray,
        ns: np.ndarray,
    ) -> float:
        """The probability of one parsed example (the serving path: the fewest Python steps).

        The arrays are those of :func:`wg_online.kernels.parse_block` for one example.
        """
        from wg_online.adagrad import Examples

        state = self._tables.get("predict_state") or self.kernel_state(learn=False)
        self._tables["predict_state"] = state
        preds = np.empty(1, np.float32)
        self.kernel()(Examples(labels, imps, offsets, idx, val, ns), *state, preds)
        return float(preds[0])

    def kernel(self) -> Any:
        """The compiled learner: ``train_block``, or ``deep_block`` for a deep model."""
        if self.options.nn_layers:
            from wg_online.deep import deep_block

            return deep_block
        from wg_online.adagrad import train_block

        return train_block

    def kernel_state(self, learn: bool) -> tuple[Any, ...]:
        """The model's arguments to :meth:`kernel`: its arrays and the run's scalars (and a
        deep model's ``NetArrays`` and ``NetHyper``).

        Examples
        --------
        >>> arrays, hyper = Model.new(Options(bit_precision=4)).kernel_state(learn=True)
        >>> arrays.w.shape, int(hyper.mask), hyper.learn, type(hyper.eta).__name__
        ((16,), 15, True, 'float32')
        """
        from wg_online.adagrad import Hyper, ModelArrays

        t, o = self.tables(), self.options
        fmask, fstride, _ = ffm_geometry(o)
        arrays = ModelArrays(t["active"], t["pairs"], self.w, self.acc, t["field_of"], self.v,
                             self.vacc, t["combo_of"])  # fmt: skip
        f32 = np.float32
        hyper = Hyper(not o.noconstant, np.uint64((1 << o.bit_precision) - 1),
                      len(o.ffm_fields), o.ffm_k, fmask, fstride, f32(o.learning_rate),
                      f32(o.power_t), f32(o.l2), f32(o.ffm_learning_rate), bool(learn),
                      o.vwcompat, _single_combos(o))  # fmt: skip
        graph = nn_graph(o)
        if graph is None:
            return arrays, hyper
        from wg_online.deep import NetArrays, NetHyper
        from wg_online.nn import TOPOLOGIES

        maxnorm = np.array([layer.maxnorm for layer in graph.layers], np.float32)
        net = NetArrays(graph.rows, maxnorm, self.nn, self.nnacc)
        net_hyper = NetHyper(TOPOLOGIES[o.nn_topology], graph.n_combos, graph.n0, graph.tape,
                             f32(o.nn_learning_rate), f32(o.nn_power_t),
                             self.examples_seen + 1)  # fmt: skip
        return arrays, hyper, net, net_hyper

    def run(self, data: Parsed, learn: bool, threads: int = 1) -> tuple[np.ndarray, float, float]:
        """Predict (and learn from) parsed examples: (probabilities, loss sum, weight sum).

        With ``threads > 1`` the examples are split into contiguous chunks trained at the same
        time on the shared weights without locks (hogwild).
        """
        if learn and self.inference:
            raise ValueError(
                "an inference model (--convert_inference_regressor) has no optimiser state and "
                "cannot be trained: train from the model it was converted from"
            )
        from wg_online.adagrad import Examples

        state, kernel = self.kernel_state(learn), self.kernel()
        preds = np.empty(len(data.labels), np.float32)

        def work(lo: int, hi: int) -> tuple[float, float]:
            off = data.offsets[lo : hi + 1]
            f = slice(off[0], off[-1])
            ex = Examples(data.labels[lo:hi], data.importances[lo:hi], off - off[0],
                          data.idx[f], data.val[f], data.ns[f])  # fmt: skip
            args = state
            if len(state) == 4:  # deep: maxnorm counts examples from the chunk's first
                args = (*state[:3], state[3]._replace(first_example=self.examples_seen + lo + 1))
            res = kernel(ex, *args, preds[lo:hi])
            return float(res[0]), float(res[1])

        n = len(data.labels)
        if threads <= 1 or n < 2 * threads:
            loss, weight = work(0, n)
        else:
            bounds = np.linspace(0, n, threads + 1).astype(int)
            with ThreadPoolExecutor(threads) as pool:
                parts = list(pool.map(work, bounds[:-1], bounds[1:]))
            loss, weight = sum(p[0] for p in parts), sum(p[1] for p in parts)
        if learn:
            self.examples_seen += n
        return preds, loss, weight
