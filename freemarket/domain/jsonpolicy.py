"""How deep and how large JSON may be: one policy for every body, import line and stored field.

Applied on the way in: to every request body before it is parsed or validated
(api.middleware.BodyLimits), to each import line, and, in the domain, to the JSON we store
(item metadata, profile data). And on the way out: what is shown of a stored JSON field is cut to
the policy, so even a value stored before the policy existed can never fail to serialise (the
JSON encoders give up past a few hundred levels, and that was a 500 for anyone shown the value).
"""

from __future__ import annotations

import json
import math
import re
from array import array
from itertools import accumulate
from typing import Any

from freemarket.errors import InvalidInput

# A request body or import line: far more than any of our bodies needs (a stored field nested
# to its own limit sits two levels down), far less than where parsers and encoders break.
MAX_BODY_DEPTH = 32
# A stored JSON field: room for structured attributes ({"size": {"eu": [42, 43]}}), no more.
STORED_MAX_DEPTH = 8
STORED_MAX_BYTES = 4096

_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_BRACKETS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def raw_depth(raw: bytes) -> int:
    """How deep arrays and objects nest in JSON text, without parsing it.

    The json module has no depth limit (it recurses until RecursionError), so the depth is
    counted on the bytes: strings removed, brackets mapped to +1/-1, the running sum's maximum,
    all inside C loops: a 1 MB body costs a few milliseconds.
    """
    brackets = _STRING.sub(b"", raw).translate(_BRACKETS, _NOT_BRACKETS)
    return max(accumulate(array("b", brackets)), default=0)


def check_body(raw: bytes) -> None:
    """Refuse JSON text nested deeper than MAX_BODY_DEPTH (before anything parses it)."""
    if raw_depth(raw) > MAX_BODY_DEPTH:
        raise InvalidInput(
            f"JSON nests deeper than {MAX_BODY_DEPTH} levels",
            code="json_too_deep",
            max_depth=MAX_BODY_DEPTH,
        )


def depth(value: object) -> int:
    """How deep arrays and objects nest in a decoded JSON value (0 for a scalar)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        current, level = stack.pop()
        children = (
            current.values()
            if isinstance(current, dict)
            else current
            if isinstance(current, list)
            else None
        )
        if children is None:
            continue
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children)
    return deepest


def check_stored(value: dict[str, Any], *, field: str) -> dict[str, Any]:
    """Refuse a JSON field deeper than STORED_MAX_DEPTH or larger than STORED_MAX_BYTES."""
    if depth(value) > STORED_MAX_DEPTH:
        raise InvalidInput(
            f"{field} nests deeper than {STORED_MAX_DEPTH} levels",
            code="json_too_deep",
            field=field,
            max_depth=STORED_MAX_DEPTH,
        )
    if len(json.dumps(value, ensure_ascii=False).encode("utf-8")) > STORED_MAX_BYTES:
        raise InvalidInput(
            f"{field} must be at most {STORED_MAX_BYTES} bytes of JSON",
            code="json_too_large",
            field=field,
            max_bytes=STORED_MAX_BYTES,
        )
    return value


def shown(value: object) -> dict[str, Any]:
    """A stored JSON field as it may be shown: an object, cut at the policy's depth, encodable."""
    if not isinstance(value, dict):
        return {}
    return printable(value, STORED_MAX_DEPTH)  # type: ignore[return-value]


def printable(value: object, levels: int = MAX_BODY_DEPTH) -> object:
    """A copy any JSON encoder accepts: `levels` deep at most (deeper: null), NaN and
    Infinity as null, lone surrogates escaped, anything else as its text."""
    if isinstance(value, dict | list | tuple) and levels == 0:
        return None
    if isinstance(value, dict):
        return {_text(str(k)): printable(v, levels - 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [printable(v, levels - 1) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, str):
        return _text(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    return _text(str(value))


def _text(value: str) -> str:
    # A lone surrogate cannot be encoded as UTF-8: show its escape instead.
    return value.encode("utf-8", "backslashreplace").decode("utf-8")
