"""Convolutional and dense networks in NumPy with hand-written, verified backward passes.

Everything a user needs is importable from here::

    from wg_convnet import Sequential, Conv2D, MaxPool2D, Flatten, Dense, ReLU, Adam
"""

from __future__ import annotations

from wg_convnet.activations import LeakyReLU, ReLU, Sigmoid, Softmax, Tanh, softmax
from wg_convnet.errors import (
    ConvnetError,
    DatasetError,
    DivergenceError,
    ModelFileError,
    ShapeError,
)
from wg_convnet.initializers import glorot_uniform, he_normal
from wg_convnet.layer import Layer
from wg_convnet.layers import Conv2D, Dense, Dropout, Flatten
from wg_convnet.losses import mean_squared_error, softmax_cross_entropy
from wg_convnet.model import Sequential
from wg_convnet.normalization import BatchNorm2D
from wg_convnet.optimizers import SGD, Adam, Optimizer
from wg_convnet.pooling import AvgPool2D, MaxPool2D

__all__ = [
    "SGD",
    "Adam",
    "AvgPool2D",
    "BatchNorm2D",
    "Conv2D",
    "ConvnetError",
    "DatasetError",
    "Dense",
    "DivergenceError",
    "Dropout",
    "Flatten",
    "Layer",
    "LeakyReLU",
    "MaxPool2D",
    "ModelFileError",
    "Optimizer",
    "ReLU",
    "Sequential",
    "ShapeError",
    "Sigmoid",
    "Softmax",
    "Tanh",
    "glorot_uniform",
    "he_normal",
    "mean_squared_error",
    "softmax",
    "softmax_cross_entropy",
]
