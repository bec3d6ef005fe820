"""The JSON schema of a model file's header, and the small validator that applies it.

The header is checked against :data:`MODEL_HEADER_SCHEMA` before any of its offsets, shapes or
layer settings is used, so a hand-edited or damaged header is refused with the field it got wrong
(``layers[2].arrays.W.offset: expected an integer, got 'x'``) instead of failing somewhere deep.

The schema is written in JSON Schema's vocabulary; :func:`validate` implements the part of it the
schema uses (``type``, ``properties``, ``required``, ``additionalProperties``, ``items``,
``minItems``, ``maxItems``, ``maxProperties``, ``minimum``, ``maximum``, ``enum``, ``pattern``,
``maxLength``), so the library needs no schema package at run time.
"""

from __future__ import annotations

import re
from typing import Any

#: Largest dimension of an array, and most dimensions: far beyond any real network.
MAX_DIMENSION = 2**31
MAX_NDIM = 8
#: Most layers and arrays per layer a header may list.
MAX_LAYERS = 10_000
MAX_ARRAYS = 16

_ARRAY = {
    "type": "object",
    "required": ["offset", "shape"],
    "additionalProperties": False,
    "properties": {
        "offset": {"type": "integer", "minimum": 0, "maximum": 2**62},
        "shape": {
            "type": "array",
            "maxItems": MAX_NDIM,
            "items": {"type": "integer", "minimum": 0, "maximum": MAX_DIMENSION},
        },
    },
}
_CONFIG_VALUE = {"type": ["integer", "number", "string", "boolean", "null"], "maxLength": 64}
_LAYER = {
    "type": "object",
    "required": ["type", "config", "arrays"],
    "additionalProperties": False,
    "properties": {
        "type": {"type": "string", "maxLength": 64},
        "config": {"type": "object", "maxProperties": 32, "additionalProperties": _CONFIG_VALUE},
        "arrays": {"type": "object", "maxProperties": MAX_ARRAYS, "additionalProperties": _ARRAY},
    },
}
_CHECKSUM = {
    "type": "object",
    "required": ["algorithm", "digest"],
    "additionalProperties": False,
    "properties": {
        "algorithm": {"enum": ["xxh3_64"]},
        "digest": {"type": "string", "pattern": "^[0-9a-f]{16}$"},
    },
}

#: The header of a model file, format versions 1 and 2 (version 2 requires ``checksum``).
MODEL_HEADER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["format", "version", "dtype", "layers"],
    "additionalProperties": False,
    "properties": {
        "format": {"enum": ["wg-convnet-model"]},
        "version": {"type": "integer", "minimum": 1},
        "dtype": {"enum": ["float32", "float64"]},
        "loss": {"enum": ["cross_entropy", "mse"]},
        "checksum": _CHECKSUM,
        "layers": {"type": "array", "minItems": 1, "maxItems": MAX_LAYERS, "items": _LAYER},
    },
}

_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
}


class SchemaError(ValueError):
    """A value does not match its schema; ``where`` is the dotted path of the field."""

    def __init__(self, where: str, problem: str) -> None:
        self.where = where
        self.problem = problem
        super().__init__(f"{where}: {problem}" if where else problem)


def _type_matches(value: Any, name: str) -> bool:
    if isinstance(value, bool):  # JSON's true/false are not numbers
        return name == "boolean"
    return isinstance(value, _TYPES[name])


def _join(where: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{where}[{key}]"
    return f"{where}.{key}" if where else key


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _check_scalar(value: Any, schema: dict[str, Any], where: str) -> None:
    if "enum" in schema and value not in schema["enum"]:
        choices = ", ".join(repr(choice) for choice in schema["enum"])
        raise SchemaError(where, f"expected one of {choices}, got {_short(value)}")
    types = schema.get("type")
    if types is not None:
        names = [types] if isinstance(types, str) else types
        if not any(_type_matches(value, name) for name in names):
            raise SchemaError(where, f"expected {' or '.join(names)}, got {_short(value)}")
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            raise SchemaError(where, f"must be >= {schema['minimum']}, got {_short(value)}")
        if "maximum" in schema and value > schema["maximum"]:
            raise SchemaError(where, f"must be <= {schema['maximum']}, got {_short(value)}")
    if isinstance(value, str):
        if len(value) > schema.get("maxLength", len(value)):
            raise SchemaError(where, f"longer than {schema['maxLength']} characters")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            raise SchemaError(where, f"does not match {schema['pattern']}, got {_short(value)}")


def _check_object(value: dict[str, Any], schema: dict[str, Any], where: str) -> None:
    missing = [key for key in schema.get("required", ()) if key not in value]
    if missing:
        raise SchemaError(where, f"missing field {missing[0]!r}")
    if len(value) > schema.get("maxProperties", len(value)):
        raise SchemaError(where, f"more than {schema['maxProperties']} fields")
    known = schema.get("properties", {})
    extra = schema.get("additionalProperties", True)
    for key, item in value.items():
        if key in known:
            validate(item, known[key], _join(where, key))
        elif extra is False:
            raise SchemaError(where, f"unknown field {_short(key)}")
        elif isinstance(extra, dict):
            validate(item, extra, _join(where, key))


def _check_array(value: list[Any], schema: dict[str, Any], where: str) -> None:
    if len(value) < schema.get("minItems", 0):
        raise SchemaError(where, f"needs at least {schema['minItems']} items, got {len(value)}")
    if len(value) > schema.get("maxItems", len(value)):
        raise SchemaError(where, f"more than {schema['maxItems']} items")
    if "items" in schema:
        for index, item in enumerate(value):
            validate(item, schema["items"], _join(where, index))


def validate(value: Any, schema: dict[str, Any], where: str = "") -> None:
    """Raise :class:`SchemaError` naming the first field of ``value`` that ``schema`` refuses.

    Examples
    --------
    >>> validate({"offset": 0, "shape": [2, 3]}, _ARRAY)
    >>> validate({"offset": -1, "shape": [2]}, _ARRAY, "arrays.W")
    Traceback (most recent call last):
    ...
    wg_convnet.schema.SchemaError: arrays.W.offset: must be >= 0, got -1
    >>> validate({"offset": 0}, _ARRAY, "arrays.W")
    Traceback (most recent call last):
    ...
    wg_convnet.schema.SchemaError: arrays.W: missing field 'shape'
    """
    _check_scalar(value, schema, where)
    if isinstance(value, dict):
        _check_object(value, schema, where)
    elif isinstance(value, list):
        _check_array(value, schema, where)
