"""Canonical JSON of domain values, for content hashes (policy hash, assessment input hash).

Dataclasses become objects with sorted keys, enums their value, dates ISO 8601, Decimals
their normalised string, tuples and lists arrays, sets and frozensets sorted arrays. The
same inputs always give the same bytes, so a hash reproduces across processes and hosts.
`from_plain` reads such a structure back into the typed value (the assessment snapshot and
the stored policy versions are replayed with it).
"""

from __future__ import annotations

import collections.abc
import dataclasses
import datetime as dt
import functools
import hashlib
import json
import types
import typing
from decimal import Decimal
from enum import Enum
from typing import Any

OMIT_DEFAULT = "canonical_omit_default"


def to_plain(obj: Any) -> Any:
    """A JSON-compatible structure for `obj` (see module doc)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        # a field added later with OMIT_DEFAULT is left out while it holds its default, so
        # the inputs hash of a snapshot saved before the field existed still reproduces
        return {f.name: to_plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)
                if not (f.metadata.get(OMIT_DEFAULT) and getattr(obj, f.name) == f.default)}
    if isinstance(obj, Enum):
        return obj.value
    if isinstance(obj, (dt.date, dt.datetime)):
        return obj.isoformat()
    if isinstance(obj, Decimal):
        return format(obj.normalize(), "f")
    if isinstance(obj, dict):
        return {str(to_plain(k)): to_plain(v) for k, v in obj.items()}
    if isinstance(obj, (set, frozenset)):
        return sorted((to_plain(x) for x in obj), key=lambda x: json.dumps(x, sort_keys=True))
    if isinstance(obj, (list, tuple)):
        return [to_plain(x) for x in obj]
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    raise TypeError(f"cannot canonicalise {type(obj).__name__}")


def canonical_json(obj: Any) -> bytes:
    """UTF-8 canonical JSON bytes of `obj`."""
    return json.dumps(to_plain(obj), sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


def sha256_hex(obj: Any) -> str:
    """SHA-256 (hex) of the canonical JSON of `obj`."""
    return hashlib.sha256(canonical_json(obj)).hexdigest()


@functools.cache
def _init_fields(tp: type) -> tuple[tuple[str, Any], ...]:
    """(name, resolved type) of a dataclass's init fields: resolving the string annotations
    (`typing.get_type_hints`) took most of `from_plain`'s time when done on every call, and a
    class's annotations do not change (issue 14)."""
    hints = typing.get_type_hints(tp)
    return tuple((f.name, hints[f.name]) for f in dataclasses.fields(tp) if f.init)


def from_plain(tp: Any, data: Any) -> Any:
    """The value of type `tp` whose `to_plain` is `data` (dataclasses, enums, dates,
    Decimals, optional values, tuples, frozensets, lists and mappings of them)."""
    if data is None:
        return None
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        if len(inner) != 1:
            raise TypeError(f"cannot read back {tp!r}")
        return from_plain(inner[0], data)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(from_plain(args[0], x) for x in data)
        return tuple(from_plain(a, x) for a, x in zip(args, data, strict=True))
    if origin in (frozenset, set, collections.abc.Set):
        return frozenset(from_plain(args[0], x) for x in data)
    if origin in (list, collections.abc.Sequence):
        return [from_plain(args[0], x) for x in data]
    if origin in (dict, collections.abc.Mapping):
        return {from_plain(args[0], k): from_plain(args[1], v) for k, v in data.items()}
    if dataclasses.is_dataclass(tp):
        return typing.cast(Any, tp)(**{name: from_plain(hint, data[name])
                                       for name, hint in _init_fields(typing.cast(type, tp))
                                       if name in data})
    if isinstance(tp, type) and issubclass(tp, Enum):
        return tp(data)
    if tp is dt.datetime:
        return dt.datetime.fromisoformat(data)
    if tp is dt.date:
        return dt.date.fromisoformat(data)
    if tp is Decimal:
        return Decimal(data)
    if tp in (str, int, float, bool) or tp is Any:
        return data
    raise TypeError(f"cannot read back {tp!r}")
