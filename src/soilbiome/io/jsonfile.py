"""Strict JSON: the one serialiser and the one file writer of every JSON the project writes.

Python's :mod:`json` writes ``NaN``, ``Infinity`` and ``-Infinity`` by default
(``allow_nan=True``); those are not JSON (RFC 8259): R's jsonlite and JavaScript's
``JSON.parse`` refuse such files. Here every value goes through :func:`jsonable` first:

* a NaN or infinite number becomes ``null`` (a test result carries its ``status`` and
  ``reason`` beside it: :mod:`soilbiome.model.stat_result`);
* numpy scalars and arrays become Python numbers and lists, ``pandas.NA`` / ``NaT`` ``null``;
* paths become strings, dates and times ISO 8601 strings, sets sorted lists;
* anything else goes to ``default`` (e.g. ``str``) when given, or raises ``TypeError``.

The text is then produced with ``allow_nan=False``, so a non-finite number can never slip
through. :func:`write_json` writes atomically (temp file, then rename) and ends the file with
a newline; :func:`loads` is the matching strict reader (it refuses ``NaN`` / ``Infinity``).
:func:`read_json_object` reads a JSON object from a file another step wrote (a record, a
report), every failure one error naming the file.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable, Mapping
from pathlib import Path, PurePath
from typing import Any

from soilbiome.errors import InputError
from soilbiome.io.atomic import atomic_write

Default = Callable[[Any], Any] | None


def _number(value: Any) -> Any:
    """A Python int/float/bool for a numpy scalar, or ``value`` unchanged."""
    item = getattr(value, "item", None)
    if item is not None and type(value).__module__ == "numpy" and getattr(value, "ndim", 1) == 0:
        return item()
    return value


def jsonable(value: Any, default: Default = None) -> Any:
    """``value`` as plain JSON data: non-finite numbers become None (see module docstring)."""
    value = _number(value)
    if value is None or isinstance(value, (bool, str, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {_key(k, default): jsonable(v, default) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v, default) for v in value]
    if isinstance(value, (set, frozenset)):
        items = [jsonable(v, default) for v in value]
        try:
            return sorted(items)
        except TypeError:
            return sorted(items, key=repr)
    if type(value).__module__ == "numpy" and hasattr(value, "tolist"):  # ndarray
        return jsonable(value.tolist(), default)
    if type(value).__name__ in ("NAType", "NaTType"):
        return None
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if default is not None:
        return jsonable(default(value), None)
    raise TypeError(f"{type(value).__name__} value {value!r} cannot be written as JSON")


def _key(key: Any, default: Default) -> str:
    key = _number(key)
    if isinstance(key, str):
        return key
    if key is None or isinstance(key, (bool, int, float)):
        return json.dumps(jsonable(key))  # as json.dumps writes keys: "1", "true", "null"
    converted = jsonable(key, default)
    return converted if isinstance(converted, str) else json.dumps(converted)


def dumps(value: Any, *, indent: int | None = 2, sort_keys: bool = False,
          default: Default = None) -> str:
    """Strict JSON text of ``value`` (no ``NaN`` / ``Infinity``; see :func:`jsonable`)."""
    return json.dumps(jsonable(value, default), indent=indent, sort_keys=sort_keys,
                      allow_nan=False)


def write_json(path: str | Path, value: Any, *, indent: int | None = 2,
               sort_keys: bool = False, default: Default = None) -> None:
    """Write ``value`` as strict JSON to ``path`` atomically, ending with a newline."""
    text = dumps(value, indent=indent, sort_keys=sort_keys, default=default)
    with atomic_write(path) as handle:
        handle.write(text + "\n")


def _refuse(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON (RFC 8259)")


def loads(text: str | bytes) -> Any:
    """Parse strict JSON: ``NaN``, ``Infinity`` and ``-Infinity`` raise ``ValueError``."""
    return json.loads(text, parse_constant=_refuse)


def read_json_object(path: str | Path, what: str = "") -> dict:
    """The JSON object in ``path``; ``what`` names the file in messages ("parameters file").

    Raises
    ------
    InputError
        Naming the file: not found, not UTF-8 JSON, or JSON that is not an object.
    """
    prefix = f"{what} is " if what else ""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{what or 'file'} not found", location=str(path)) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{prefix}not valid JSON ({exc})", location=str(path)) from None
    if not isinstance(data, dict):
        raise InputError(f"{prefix}not a JSON object but {type(data).__name__}",
                         location=str(path))
    return data
