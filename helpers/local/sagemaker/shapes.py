"""Requests and responses checked against botocore's service models, worded as AWS words them.

`validate_request` rejects a JSON request body the real service would reject (with AWS's
"N validation errors detected: ..." message), `to_wire` serialises an output dict for the JSON
protocol, and `check_response` lists where a response (as boto3 parsed it) breaks the model.

The models' ``pattern`` constraints are Java regular expressions. `translate_pattern` rewrites
the Java-only parts Python's :mod:`re` lacks: ``\\p{...}`` Unicode categories and POSIX classes
become explicit ranges, UTF-16 surrogate pairs (``\\uD800\\uDC00``) become one code point, ``.``
stops at every Java line terminator (not just ``\\n``) and a quantifier on ``$`` (``${1,128}``) is
dropped. Patterns compile with :data:`re.ASCII`, so ``\\w``, ``\\d``, ``\\s`` and ``\\b`` are
ASCII-only as in Java. A pattern that still does not compile is skipped (see `skipped_patterns`)
rather than failing the request.
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
import sys
import unicodedata
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import botocore.session
from botocore.model import OperationModel, ServiceModel, Shape

from helpers.local.core import ServiceError

#: Shape types whose values are JSON scalars (checked in place, not recursed into).
SCALARS = frozenset(
    {"string", "integer", "long", "boolean", "float", "double", "timestamp", "blob"}
)

#: How Coral names the Java type a JSON value could not be converted to.
_JAVA_TYPES = {
    "string": "a String",
    "integer": "an Integer",
    "long": "a Long",
    "boolean": "a Boolean",
    "float": "a Float",
    "double": "a Double",
    "timestamp": "a Date",
    "blob": "a ByteBuffer",
    "list": "a List",
    "map": "a Map",
    "structure": "a Structure",
}

#: Java's POSIX character classes (ASCII-only, as in Java without UNICODE_CHARACTER_CLASS).
_POSIX_CLASSES = {
    "Lower": "a-z",
    "Upper": "A-Z",
    "ASCII": "\\x00-\\x7f",
    "Alpha": "a-zA-Z",
    "Digit": "0-9",
    "Alnum": "a-zA-Z0-9",
    "Punct": "!-/:-@\\[-`{-~",
    "Graph": "!-~",
    "Print": " -~",
    "Blank": " \\t",
    "Cntrl": "\\x00-\\x1f\\x7f",
    "XDigit": "0-9a-fA-F",
    "Space": " \\t\\n\\x0b\\f\\r",
}

#: Java's "." stops at every line terminator, Python's only at "\n".
_JAVA_DOT = "[^\\n\\r\\u0085\\u2028\\u2029]"

_DOLLAR_QUANTIFIER = re.compile(r"(?:\{\d+(?:,\d*)?\}|[*+?])[+?]?")


class RequestInvalid(ServiceError):
    """A request the service model rejects: a ValidationException (or SerializationException)."""

    def __init__(self, message: str, code: str = "ValidationException") -> None:
        super().__init__(code, message, 400)


class UnsupportedPattern(ValueError):
    """A Java regular expression construct `translate_pattern` cannot express in Python."""


# --- the service model ----------------------------------------------------------------------------


@functools.cache
def service_model(service: str) -> ServiceModel:
    """Return botocore's model of `service` (loaded once)."""
    return botocore.session.get_session().get_service_model(service)


def operation_model(service: str, operation: str) -> OperationModel:
    """Return the model of one operation (botocore raises OperationNotFoundError if unknown)."""
    return service_model(service).operation_model(operation)


# --- Java patterns --------------------------------------------------------------------------------


@functools.cache
def _category_ranges() -> dict[str, tuple[tuple[int, int], ...]]:
    """Map each two-letter Unicode general category to its code point ranges."""
    ranges: dict[str, list[tuple[int, int]]] = {}
    start, current = 0, unicodedata.category("\0")
    for code in range(1, sys.maxunicode + 2):
        category = unicodedata.category(chr(code)) if code <= sys.maxunicode else ""
        if category != current:
            ranges.setdefault(current, []).append((start, code - 1))
            start, current = code, category
    return {name: tuple(spans) for name, spans in ranges.items()}


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sort code point ranges and join those that touch."""
    merged: list[tuple[int, int]] = []
    for low, high in sorted(spans):
        if merged and low <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(high, merged[-1][1]))
        else:
            merged.append((low, high))
    return merged


@functools.cache
def _category_class(category: str) -> str:
    """Return character class contents (no brackets) for a Unicode general category (L, Lu)."""
    spans = [
        span
        for name, found in _category_ranges().items()
        if name.startswith(category)
        for span in found
    ]
    if not spans:
        raise UnsupportedPattern(f"unknown Unicode category {category!r}")
    return "".join(
        f"\\U{low:08X}" if low == high else f"\\U{low:08X}-\\U{high:08X}"
        for low, high in _merged(spans)
    )


def _property_class(name: str) -> str:
    """Return class contents for the name in a Java ``\\p{name}``."""
    if name in _POSIX_CLASSES:
        return _POSIX_CLASSES[name]
    bare = name.removeprefix("Is").removeprefix("general_category=").removeprefix("gc=")
    if 1 <= len(bare) <= 2 and bare[0] in "CLMNPSZ":
        return _category_class(bare)
    raise UnsupportedPattern(f"unsupported property class \\p{{{name}}}")


def _property_escape(java: str, i: int, in_class: bool) -> tuple[str, int]:
    """Translate ``\\p{X}`` / ``\\P{X}`` / ``\\pL`` starting at `i` (the backslash)."""
    negated = java[i + 1] == "P"
    if java[i + 2 : i + 3] == "{":
        end = java.find("}", i + 3)
        if end < 0:
            raise UnsupportedPattern("unterminated \\p{")
        name, after = java[i + 3 : end], end + 1
    else:
        name, after = java[i + 2 : i + 3], i + 3
    body = _property_class(name)
    if in_class and negated:
        raise UnsupportedPattern("\\P{...} inside a character class")
    if in_class:
        return body, after
    return f"[{'^' if negated else ''}{body}]", after


def _unicode_escape(java: str, i: int) -> tuple[str, int]:
    """Translate ``\\uXXXX`` at `i`, joining a UTF-16 surrogate pair into one code point."""
    high = int(java[i + 2 : i + 6], 16)
    low_text = java[i + 6 : i + 12]
    if 0xD800 <= high <= 0xDBFF and re.fullmatch(r"\\u[dD][c-fC-F][0-9a-fA-F]{2}", low_text):
        low = int(low_text[2:], 16)
        code = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
        return f"\\U{code:08X}", i + 12
    return f"\\u{high:04X}", i + 6


def _escape(java: str, i: int, in_class: bool) -> tuple[str, int]:
    """Translate the escape sequence starting at `i` (the backslash)."""
    kind = java[i + 1 : i + 2]
    if kind in ("p", "P"):
        return _property_escape(java, i, in_class)
    if kind == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", java[i + 2 : i + 6]):
        return _unicode_escape(java, i)
    if kind in ("Q", "E"):
        raise UnsupportedPattern("\\Q...\\E quoting")
    return java[i : i + 2], i + 2


def translate_pattern(java: str) -> str:
    """Rewrite a Java regular expression for Python (raise UnsupportedPattern if impossible)."""
    out: list[str] = []
    i, in_class = 0, False
    while i < len(java):
        char = java[i]
        if char == "\\":
            text, i = _escape(java, i, in_class)
            out.append(text)
            continue
        if char == "[" and in_class:
            raise UnsupportedPattern("nested character class")
        if char == "&" and in_class and java[i + 1 : i + 2] == "&":
            raise UnsupportedPattern("character class intersection")
        out.append(_JAVA_DOT if char == "." and not in_class else char)
        i += 1
        if char == "[" and not in_class:
            in_class = True
            if java[i : i + 1] == "^":
                out.append("^")
                i += 1
        elif char == "]" and in_class:
            in_class = False
        elif char == "$" and not in_class and (quantifier := _DOLLAR_QUANTIFIER.match(java, i)):
            i = quantifier.end()  # Java lets "$" be repeated; it still just matches the end.
    return "".join(out)


@functools.cache
def compile_pattern(java: str) -> re.Pattern[str] | None:
    """Compile a model's Java pattern for full matching, or None if it has to be skipped."""
    try:
        return re.compile(translate_pattern(java), re.ASCII)
    except (UnsupportedPattern, re.error):
        return None


def _shapes_reachable(shape: Shape, seen: set[str]) -> Iterator[Shape]:
    """Yield `shape` and every shape inside it, each named shape once."""
    if shape.name in seen:
        return
    seen.add(shape.name)
    yield shape
    for child in _children(shape):
        yield from _shapes_reachable(child, seen)


def _children(shape: Shape) -> list[Shape]:
    """Return the shapes directly inside a structure, list or map."""
    if shape.type_name == "structure":
        return list(shape.members.values())
    if shape.type_name == "list":
        return [shape.member]
    if shape.type_name == "map":
        return [shape.key, shape.value]
    return []


def input_patterns(service: str) -> set[str]:
    """Return every pattern in shapes reachable from the inputs of `service`'s operations."""
    model = service_model(service)
    seen: set[str] = set()
    patterns: set[str] = set()
    for name in model.operation_names:
        shape = model.operation_model(name).input_shape
        for found in _shapes_reachable(shape, seen) if shape is not None else ():
            if "pattern" in found.metadata:
                patterns.add(found.metadata["pattern"])
    return patterns


def skipped_patterns(service: str) -> list[str]:
    """Return the input patterns of `service` that cannot be checked in Python (so are not)."""
    return sorted(p for p in input_patterns(service) if compile_pattern(p) is None)


# --- constraints shared by requests and responses -------------------------------------------------


def _number(value: float) -> str:
    """Format a model bound the way the constraint message shows it."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _bound_phrases(metadata: Mapping[str, Any], measure: float, noun: str) -> list[str]:
    """Return the broken min/max constraints of a `noun` ("length" or "value") of `measure`."""
    phrases = []
    if "max" in metadata and measure > metadata["max"]:
        phrases.append(f"Member must have {noun} less than or equal to {_number(metadata['max'])}")
    if "min" in metadata and measure < metadata["min"]:
        phrases.append(
            f"Member must have {noun} greater than or equal to {_number(metadata['min'])}"
        )
    return phrases


def _length_phrases(metadata: Mapping[str, Any], length: int) -> list[str]:
    """Return the broken length constraints (strings, lists, maps) for a value of `length`."""
    return _bound_phrases(metadata, length, "length")


def _range_phrases(metadata: Mapping[str, Any], value: float) -> list[str]:
    """Return the broken min/max constraints for a number."""
    return _bound_phrases(metadata, value, "value")


def _string_phrases(shape: Shape, value: str) -> list[str]:
    """Return the broken length, enum and pattern constraints for a string."""
    utf16_length = len(value.encode("utf-16-le", "surrogatepass")) // 2
    phrases = _length_phrases(shape.metadata, utf16_length)
    enum = shape.metadata.get("enum")
    if enum and value not in enum:
        phrases.append(f"Member must satisfy enum value set: [{', '.join(enum)}]")
    pattern = shape.metadata.get("pattern")
    compiled = compile_pattern(pattern) if pattern is not None else None
    if compiled is not None and compiled.fullmatch(value) is None:
        phrases.append(f"Member must satisfy regular expression pattern: {pattern}")
    return phrases


def scalar_phrases(shape: Shape, value: Any) -> list[str]:
    """Return the constraints a well-typed scalar value breaks, in AWS's words."""
    if shape.type_name == "string":
        return _string_phrases(shape, value)
    if shape.type_name in ("integer", "long", "float", "double"):
        return _range_phrases(shape.metadata, value)
    return []


# --- request validation ---------------------------------------------------------------------------


def _java_text(value: Any) -> str:
    """Render a value as Java's toString would (how Coral quotes it in messages)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_java_text(item) for item in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}={_java_text(v)}" for k, v in value.items()) + "}"
    if value is None:
        return "null"
    return str(value)


def _violation(shape: Shape, value: Any, path: str, constraint: str) -> str:
    """Word one validation error as AWS does."""
    shown = "Value" if shape.metadata.get("sensitive") else f"Value '{_java_text(value)}'"
    return f"{shown} at '{path}' failed to satisfy constraint: {constraint}"


def _null(path: str) -> str:
    """Word a missing required member as AWS does."""
    return f"Value null at '{path}' failed to satisfy constraint: Member must not be null"


def _token(value: Any) -> str:
    """Return the JSON token name Coral's deserialiser reports for a value."""
    if isinstance(value, bool):
        return "BOOLEAN_VALUE"
    if isinstance(value, int | float):
        return "NUMBER_VALUE"
    return "STRING_VALUE"


def _wrong_type(shape: Shape, value: Any) -> RequestInvalid:
    """Return the SerializationException Coral raises when JSON has the wrong type."""
    if isinstance(value, Mapping):
        message = "Start of structure or map found where not expected."
    elif isinstance(value, list | tuple):
        message = "Start of list found where not expected."
    else:
        message = f"{_token(value)} can not be converted to {_JAVA_TYPES[shape.type_name]}"
    return RequestInvalid(message, code="SerializationException")


def _is_number(value: Any) -> bool:
    """Tell whether a JSON value is a number (bools are not)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_timestamp(value: Any) -> bool:
    """Tell whether a JSON value is a timestamp: epoch seconds or an ISO 8601 string."""
    if isinstance(value, str):
        try:
            datetime.fromisoformat(value)
        except ValueError:
            return False
        return True
    return _is_number(value)


def _is_whole(value: Any) -> bool:
    """Tell whether a JSON value is a whole number (for integer and long members)."""
    if isinstance(value, float):
        return value.is_integer()
    return _is_number(value)


def _is_blob(value: Any) -> bool:
    """Tell whether a JSON value is a base64 string."""
    if not isinstance(value, str):
        return False
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


_REQUEST_TYPES = {
    "string": lambda v: isinstance(v, str),
    "integer": _is_whole,
    "long": _is_whole,
    "float": _is_number,
    "double": _is_number,
    "boolean": lambda v: isinstance(v, bool),
    "timestamp": _is_timestamp,
    "blob": _is_blob,
    "structure": lambda v: isinstance(v, Mapping),
    "map": lambda v: isinstance(v, Mapping),
    "list": lambda v: isinstance(v, list | tuple),
}


def _require_type(shape: Shape, value: Any) -> None:
    """Raise a SerializationException unless `value` has the JSON type `shape` wants."""
    if not _REQUEST_TYPES[shape.type_name](value):
        raise _wrong_type(shape, value)


def _child(path: str, name: str) -> str:
    """Append a member to an AWS error path (members are shown in lowerCamelCase)."""
    member = name[:1].lower() + name[1:]
    return f"{path}.{member}" if path else member


def _element_phrases(shape: Shape, value: Any) -> list[str]:
    """Return the constraints a scalar list element, map key or map value breaks."""
    if value is None:
        return ["Member must not be null"]
    _require_type(shape, value)
    return scalar_phrases(shape, value)


def _collection_problem(value: Any, path: str, lead: str, phrases: list[str]) -> list[str]:
    """Word the broken constraints of a collection's scalar elements as one error."""
    if not phrases:
        return []
    unique = list(dict.fromkeys(phrases))
    constraint = f"{lead} must satisfy constraint: [{', '.join(unique)}]"
    return [f"Value '{_java_text(value)}' at '{path}' failed to satisfy constraint: {constraint}"]


def _validate_list(shape: Shape, value: Any, path: str) -> list[str]:
    """Return the errors in a list: its length, then its elements."""
    errors = [
        _violation(shape, value, path, p) for p in _length_phrases(shape.metadata, len(value))
    ]
    member = shape.member
    if member.type_name in SCALARS:
        phrases = [p for item in value for p in _element_phrases(member, item)]
        return errors + _collection_problem(value, path, "Member", phrases)
    for index, item in enumerate(value, start=1):
        errors += _validate(member, item, f"{path}.{index}.member")
    return errors


def _validate_map(shape: Shape, value: Any, path: str) -> list[str]:
    """Return the errors in a map: its size, its keys, then its values."""
    errors = [
        _violation(shape, value, path, p) for p in _length_phrases(shape.metadata, len(value))
    ]
    key_phrases = [p for key in value for p in _element_phrases(shape.key, key)]
    errors += _collection_problem(value, path, "Map keys", key_phrases)
    if shape.value.type_name in SCALARS:
        phrases = [p for item in value.values() for p in _element_phrases(shape.value, item)]
        return errors + _collection_problem(value, path, "Map value", phrases)
    for key, item in value.items():
        errors += _validate(shape.value, item, f"{path}.{key}")
    return errors


def _validate_structure(shape: Shape, value: Mapping[str, Any], path: str) -> list[str]:
    """Return the errors in a structure's members (unknown members are ignored, as AWS does)."""
    errors: list[str] = []
    required = set(shape.required_members)
    for name, member in shape.members.items():
        child = _child(path, name)
        if value.get(name) is None:
            errors += [_null(child)] if name in required else []
        else:
            errors += _validate(member, value[name], child)
    return errors


def _validate(shape: Shape, value: Any, path: str) -> list[str]:
    """Return the validation errors in `value` (raising at once on a wrong JSON type)."""
    _require_type(shape, value)
    if shape.type_name == "structure":
        return _validate_structure(shape, value, path)
    if shape.type_name == "list":
        return _validate_list(shape, value, path)
    if shape.type_name == "map":
        return _validate_map(shape, value, path)
    return [_violation(shape, value, path, p) for p in scalar_phrases(shape, value)]


def validation_message(errors: list[str]) -> str:
    """Join validation errors into AWS's "N validation errors detected: ..." message."""
    noun = "error" if len(errors) == 1 else "errors"
    return f"{len(errors)} validation {noun} detected: " + "; ".join(errors)


def validate_request(service: str, operation: str, body: Mapping[str, Any]) -> None:
    """Raise RequestInvalid if a JSON request body breaks the operation's input shape."""
    shape = operation_model(service, operation).input_shape
    if shape is None:
        return
    errors = _validate(shape, body, "")
    if errors:
        raise RequestInvalid(validation_message(errors))


# --- responses ------------------------------------------------------------------------------------


def _epoch(value: datetime) -> float:
    """Return epoch seconds for a datetime (a naive one is taken as UTC)."""
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return aware.timestamp()


def _wire_timestamp(shape: Shape | None, value: datetime) -> float | str:
    """Serialise a datetime as the shape's timestampFormat wants (epoch seconds by default)."""
    if shape is not None and shape.serialization.get("timestampFormat") == "iso8601":
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return _epoch(value)


def _member_shape(shape: Shape | None, key: str) -> Shape | None:
    """Return the shape of `key` inside a structure or map shape (None if unknown)."""
    if shape is None:
        return None
    if shape.type_name == "structure":
        return shape.members.get(key)
    return shape.value if shape.type_name == "map" else None


def _wire(shape: Shape | None, value: Any) -> Any:
    """Serialise one value for the JSON protocol, following `shape` where known."""
    if isinstance(value, datetime):
        return _wire_timestamp(shape, value)
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, Mapping):
        return {
            key: _wire(_member_shape(shape, key), item)
            for key, item in value.items()
            if item is not None
        }
    if isinstance(value, list | tuple):
        member = shape.member if shape is not None and shape.type_name == "list" else None
        return [_wire(member, item) for item in value]
    return value


def to_wire(service: str, operation: str, response: Mapping[str, Any]) -> dict[str, Any]:
    """Serialise an operation's output for the JSON protocol (datetimes to epoch, no Nones)."""
    return _wire(operation_model(service, operation).output_shape, response)


_PARSED_TYPES = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "long": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "float": _is_number,
    "double": _is_number,
    "boolean": lambda v: isinstance(v, bool),
    "timestamp": lambda v: isinstance(v, datetime),
    "blob": lambda v: isinstance(v, bytes | bytearray) or hasattr(v, "read"),
    "structure": lambda v: isinstance(v, Mapping),
    "map": lambda v: isinstance(v, Mapping),
    "list": lambda v: isinstance(v, list),
}

_WIRE_TYPES = {**_PARSED_TYPES, "timestamp": _is_number, "blob": _is_blob}


class _Checker:
    """Walks a response against its output shape, collecting problems (one check per call)."""

    def __init__(self, wire: bool, constraints: bool) -> None:
        self.types = _WIRE_TYPES if wire else _PARSED_TYPES
        self.constraints = constraints

    def check(self, shape: Shape, value: Any, path: str) -> list[str]:
        """Return the problems in `value` at `path`."""
        if not self.types[shape.type_name](value):
            return [f"{path}: expected {shape.type_name}, got {type(value).__name__}"]
        if shape.type_name == "structure":
            return self.structure(shape, value, path)
        if shape.type_name in ("list", "map"):
            return self.collection(shape, value, path)
        return self.scalar(shape, value, path)

    def structure(self, shape: Shape, value: Mapping[str, Any], path: str) -> list[str]:
        """Return unknown members, missing required members and problems inside members."""
        join = (lambda name: f"{path}.{name}") if path else (lambda name: name)
        problems = [f"{join(k)}: unknown member" for k in value if k not in shape.members]
        for name, member in shape.members.items():
            if value.get(name) is not None:
                problems += self.check(member, value[name], join(name))
            elif name in shape.required_members:
                problems.append(f"{join(name)}: missing required member")
        return problems

    def collection(self, shape: Shape, value: Any, path: str) -> list[str]:
        """Return problems in a list's elements or a map's keys and values."""
        problems = self.sized(shape, len(value), path)
        if shape.type_name == "list":
            items = [(shape.member, item, f"{path}[{i}]") for i, item in enumerate(value)]
        else:
            items = [(shape.key, k, f"{path} key {k!r}") for k in value]
            items += [(shape.value, v, f"{path}[{k!r}]") for k, v in value.items()]
        for member, item, where in items:
            problems += [f"{where}: null"] if item is None else self.check(member, item, where)
        return problems

    def sized(self, shape: Shape, length: int, path: str) -> list[str]:
        """Return broken length constraints of a list or map (when checking constraints)."""
        if not self.constraints:
            return []
        return [f"{path}: {p}" for p in _length_phrases(shape.metadata, length)]

    def scalar(self, shape: Shape, value: Any, path: str) -> list[str]:
        """Return a bad enum value (with `constraints`: every broken enum/length/range/pattern)."""
        if self.constraints and shape.type_name != "timestamp":
            return [f"{path}: {p}" for p in scalar_phrases(shape, value)]
        enum = shape.metadata.get("enum")
        if shape.type_name == "string" and enum and value not in enum:
            return [f"{path}: {value!r} is not in the enum [{', '.join(enum)}]"]
        return []


def check_response(
    service: str,
    operation: str,
    parsed: Mapping[str, Any],
    *,
    wire: bool = False,
    constraints: bool = False,
) -> list[str]:
    """List where a response breaks the output shape (empty if it fits); for tests of our server.

    `parsed` is what boto3 returned (its ResponseMetadata is ignored). With `wire=True` it is the
    raw JSON body instead (timestamps as epoch numbers, blobs as base64); check that to catch
    unknown members, which botocore's parser silently drops. With `constraints=True` string
    length, pattern and number ranges are checked too.
    """
    body = {k: v for k, v in parsed.items() if k != "ResponseMetadata"}
    shape = operation_model(service, operation).output_shape
    if shape is None:
        return [f"{name}: unknown member" for name in body]
    return _Checker(wire, constraints).check(shape, body, "")
