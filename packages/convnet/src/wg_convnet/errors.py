"""Exceptions that wg_convnet raises for input a user can fix."""

from __future__ import annotations


class ConvnetError(Exception):
    """Base class of every error wg_convnet raises for bad user input."""


class ShapeError(ConvnetError, ValueError):
    """An array has the wrong shape, dtype or contents for the layer or model that received it."""


class ModelFileError(ConvnetError):
    """A model file is corrupt, truncated, of another format version, or not a model file."""


class DatasetError(ConvnetError):
    """A dataset is unknown, not cached, corrupt, or its download failed."""


class DivergenceError(ConvnetError, ArithmeticError):
    """Training produced a NaN or infinite loss or weight, or a model holding one was saved."""
