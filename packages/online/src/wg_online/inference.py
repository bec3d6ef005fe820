"""Inference models: FW's ``--convert_inference_regressor`` and ``--weight_quantization``.

An inference model keeps the weights and drops the optimiser state (the AdaGrad sums), so it is
about half the size of a ``--save_resume`` model and predicts identically. With quantization
its FFM weights are stored as in FW (``quantization.rs``): ``min`` and ``max`` of the weights
rounded to 4 decimals, ``inc = (max - min) / 65025``, and for each weight the IEEE half-float
of its bucket index ``round((w - min) / inc)``; a weight is read back as
``min + index * inc``. Half-floats hold integers exactly only up to 2048, so larger indices are
rounded to a spacing of up to 32 buckets, as in FW. The LR and deep-layer weights stay float32.

An inference model cannot be trained further (it has no optimiser state, and a quantized one
has lost precision): loading it for training is refused (FW would go on with plain SGD).
"""

from __future__ import annotations

import os

import numpy as np

#: FW's number of quantization buckets (255 * 255).
BUCKETS = 65025


class ConversionError(ValueError):
    """A model that cannot be converted; the message names it and the fix."""


def _round_half_away(x: float) -> float:
    """Rust's ``f32::round``: halves away from zero (NumPy rounds them to even)."""
    return float(np.sign(x) * np.floor(abs(x) + 0.5))


def quantize(weights: np.ndarray) -> tuple[float, float, np.ndarray]:
    """(min, inc, half-float bucket indices) of float32 weights, FW's scheme.

    Examples
    --------
    >>> w = np.array([0.51, 0.12, 0.11, 0.1232, 0.6123, 0.23], np.float32)
    >>> low, inc, idx = quantize(w)
    >>> round(low, 4), idx.dtype.str
    (0.11, '<f2')
    >>> float(np.abs(dequantize(low, inc, idx) - w).sum()) < 1e-4
    True
    """
    w = np.asarray(weights, np.float32)
    if not w.size:
        return 0.0, 0.0, np.zeros(0, "<f2")
    low = np.float32(_round_half_away(float(w.min()) * 1e4) / 1e4)
    high = np.float32(_round_half_away(float(w.max()) * 1e4) / 1e4)
    inc = np.float32((high - low) / np.float32(BUCKETS))
    if inc == 0:  # all weights equal (FW would store NaN or inf indices): bucket 0 for all
        return float(w[0]), 0.0, np.zeros(w.size, "<f2")
    index = (w - low) / inc
    index = np.sign(index) * np.floor(np.abs(index) + np.float32(0.5))
    return float(low), float(inc), index.astype("<f2")


def dequantize(low: float, inc: float, index: np.ndarray) -> np.ndarray:
    """Float32 weights ``min + index * inc`` from :func:`quantize`'s output."""
    return (np.float32(low) + index.astype(np.float32) * np.float32(inc)).astype(np.float32)


def convert(
    source: str | os.PathLike[str], target: str | os.PathLike[str], quantized: bool = False
) -> tuple[int, int]:
    """Write ``source``'s model as an inference model at ``target``: (bytes before, after).

    Raises
    ------
    ConversionError
        For a model that is already quantized (FW cannot convert those either).

    Examples
    --------
    >>> import tempfile, os
    >>> from wg_online.model import Model, Options
    >>> from wg_online.model_file import load_model, save_model
    >>> d = tempfile.mkdtemp()
    >>> save_model(Model.new(Options(bit_precision=10)), os.path.join(d, "m.wgm"), True)
    >>> before, after = convert(os.path.join(d, "m.wgm"), os.path.join(d, "i.wgm"))
    >>> load_model(os.path.join(d, "i.wgm")).inference, after < before
    (True, True)
    """
    from wg_online.model_file import load_model, read_header, save_model

    header = read_header(source)[0]
    if "quantization" in header:
        raise ConversionError(
            f"{os.fspath(source)} holds quantized weights: convert the model it came from"
        )
    model = load_model(source)
    model.inference = True
    save_model(model, target, save_resume=False, inputs=[source], quantized=quantized)
    return os.path.getsize(source), os.path.getsize(target)
