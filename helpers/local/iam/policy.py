"""A pure evaluator of IAM identity policies, for SimulatePrincipalPolicy and role-scoped S3 access.

No AWS calls and no moto: the inputs are policy documents, an action, a resource ARN and a
request context. It implements identity-policy evaluation only (an explicit Deny beats an Allow,
otherwise the default is an implicit deny); resource policies, permissions boundaries, SCPs and
session policies are out of its scope.

Semantics, following IAM's documentation and simulator:

- Actions match case-insensitively, resources case-sensitively, both with ``*`` and ``?``; the
  resource is matched as a plain string, so the simulator's default resource ``"*"`` only meets
  statements whose ``Resource`` is a pattern that matches the text ``*``.
- A condition key absent from the context fails its test, except that ``...IfExists`` and
  ``ForAllValues:`` tests and negated operators (``StringNotEquals``, ``ArnNotLike``, ...) hold.
  Absent keys of statements whose action and resource matched are reported as missing context
  (not for ``IfExists`` and ``Null`` tests).
- Policy variables (``${aws:username}``, ``${key, 'default'}``, ``${*}``) are resolved in
  ``Resource``/``NotResource`` and string, ARN and Bool condition values of version 2012-10-17
  documents. A variable with no single value and no default matches nothing and is reported as
  missing context.
- An unknown condition operator makes its statement not apply and is reported as unsupported.
"""

from __future__ import annotations

import ipaddress
import json
import operator
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any
from urllib.parse import unquote

#: IAM's EvalDecision strings.
ALLOWED = "allowed"
EXPLICIT_DENY = "explicitDeny"
IMPLICIT_DENY = "implicitDeny"

#: Only documents of this policy language version resolve ``${...}`` policy variables.
VARIABLES_VERSION = "2012-10-17"

#: A request context: condition key -> value or values (keys are matched case-insensitively).
Context = Mapping[str, str | bool | int | float | Sequence[str]]

_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_VARIABLE_DEFAULT = re.compile(r"\s*([^,\s]+)\s*,\s*'((?:[^']|'')*)'\s*")
_ARN_PARTS = 6


@dataclass(frozen=True)
class NamedPolicy:
    """A parsed policy document and the name reported as its SourcePolicyId."""

    name: str
    document: Mapping[str, Any]


@dataclass(frozen=True)
class MatchedStatement:
    """A statement that decided the result: its policy, 0-based position and Sid."""

    policy: str
    index: int
    sid: str | None = None


@dataclass(frozen=True)
class Decision:
    """The evaluation of one action on one resource, in IAM simulator terms."""

    action: str
    resource: str
    decision: str
    matched: tuple[MatchedStatement, ...] = ()
    missing_context: tuple[str, ...] = ()
    unsupported: tuple[str, ...] = ()

    @property
    def allowed(self) -> bool:
        """Whether the decision is ``allowed``."""
        return self.decision == ALLOWED


@dataclass(frozen=True)
class _Outcome:
    """Whether a part of a statement holds, and what it lacked or could not evaluate."""

    holds: bool
    missing: tuple[str, ...] = ()
    unsupported: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Text:
    """A policy string with its variables resolved: (wildcards_apply, chunk) pieces.

    ``missing`` names the key of a variable that could not be resolved; such a text matches
    nothing.
    """

    pieces: tuple[tuple[bool, str], ...] = ()
    missing: str | None = None

    @property
    def literal(self) -> str:
        """The text with wildcards taken literally."""
        return "".join(chunk for _, chunk in self.pieces)


@dataclass(frozen=True)
class _Operator:
    """A condition operator split into set qualifier, base name and IfExists."""

    qualifier: str | None
    base: str
    if_exists: bool


@dataclass(frozen=True)
class _Spec:
    """How a base condition operator compares a context value with a policy value."""

    compare: Callable[[str, _Text], bool]
    negated: bool = False
    variables: bool = False


# --- public helpers -------------------------------------------------------------------------------


def parse_document(document: str | Mapping[str, Any]) -> Mapping[str, Any]:
    """Parse a policy document given as JSON (optionally URL-encoded) or return a mapping as is."""
    if isinstance(document, Mapping):
        return document
    text = document.strip()
    if not text.startswith("{"):
        text = unquote(text)
    parsed = json.loads(text)
    if not isinstance(parsed, dict):
        raise ValueError("a policy document must be a JSON object")
    return parsed


def s3_bucket_arn(bucket: str, partition: str = "aws") -> str:
    """The ARN of an S3 bucket, as policies name it."""
    return f"arn:{partition}:s3:::{bucket}"


def s3_object_arn(bucket: str, key: str, partition: str = "aws") -> str:
    """The ARN of an S3 object, as policies name it."""
    return f"arn:{partition}:s3:::{bucket}/{key}"


def allows(
    policies: Sequence[NamedPolicy], action: str, resource: str, context: Context | None = None
) -> bool:
    """Whether the policies allow the action on the resource."""
    return evaluate(policies, action, resource, context).allowed


def evaluate(
    policies: Sequence[NamedPolicy], action: str, resource: str, context: Context | None = None
) -> Decision:
    """Evaluate identity policies for one action on one resource, as IAM's simulator does."""
    ctx = _normalise_context(context)
    allowing: list[MatchedStatement] = []
    denying: list[MatchedStatement] = []
    missing: list[str] = []
    unsupported: list[str] = []
    for matched, effect, outcome in _statement_outcomes(policies, action, resource, ctx):
        missing.extend(outcome.missing)
        unsupported.extend(outcome.unsupported)
        if outcome.holds:
            (denying if effect == "Deny" else allowing).append(matched)
    if denying:
        decision, deciding = EXPLICIT_DENY, denying
    elif allowing:
        decision, deciding = ALLOWED, allowing
    else:
        decision, deciding = IMPLICIT_DENY, []
    return Decision(
        action, resource, decision, tuple(deciding), _unique(missing), _unique(unsupported)
    )


# --- statements -----------------------------------------------------------------------------------


def _statement_outcomes(
    policies: Sequence[NamedPolicy],
    action: str,
    resource: str,
    ctx: Mapping[str, tuple[str, ...]],
) -> Iterator[tuple[MatchedStatement, str, _Outcome]]:
    """Yield the outcome of every statement whose effect is valid and whose action matches."""
    for policy in policies:
        variables = policy.document.get("Version") == VARIABLES_VERSION
        for index, statement in enumerate(_statements(policy.document)):
            outcome = _statement_outcome(statement, action, resource, ctx, variables)
            if outcome is not None:
                sid = statement.get("Sid")
                matched = MatchedStatement(
                    policy.name, index, sid if isinstance(sid, str) else None
                )
                yield matched, statement["Effect"], outcome


def _statements(document: Mapping[str, Any]) -> list[Any]:
    """The document's statements, whether ``Statement`` is one object or a list."""
    statements = document.get("Statement", [])
    return [statements] if isinstance(statements, Mapping) else list(statements)


def _statement_outcome(
    statement: Any,
    action: str,
    resource: str,
    ctx: Mapping[str, tuple[str, ...]],
    variables: bool,
) -> _Outcome | None:
    """Whether a statement applies; None when its effect is invalid or its action does not match."""
    if not isinstance(statement, Mapping) or statement.get("Effect") not in ("Allow", "Deny"):
        return None
    if not _action_matches(statement, action):
        return None
    resource_outcome = _resource_outcome(statement, resource, ctx, variables)
    if not resource_outcome.holds:
        return resource_outcome
    condition = _condition_outcome(statement.get("Condition"), ctx, variables)
    return _Outcome(
        condition.holds, resource_outcome.missing + condition.missing, condition.unsupported
    )


def _action_matches(statement: Mapping[str, Any], action: str) -> bool:
    """Whether ``Action`` matches (or ``NotAction`` does not), ignoring case."""
    wanted = action.casefold()
    for element, negated in (("Action", False), ("NotAction", True)):
        if element in statement:
            hit = any(
                _pieces_match(((True, p.casefold()),), wanted) for p in _strings(statement[element])
            )
            return hit != negated
    return False


def _resource_outcome(
    statement: Mapping[str, Any],
    resource: str,
    ctx: Mapping[str, tuple[str, ...]],
    variables: bool,
) -> _Outcome:
    """Whether ``Resource`` matches (or ``NotResource`` does not), case-sensitively."""
    for element, negated in (("Resource", False), ("NotResource", True)):
        if element in statement:
            texts = [_expand(p, ctx, variables) for p in _strings(statement[element])]
            hit = any(t.missing is None and _like(resource, t) for t in texts)
            return _Outcome(hit != negated, _missing_keys(texts))
    return _Outcome(False)


# --- conditions -----------------------------------------------------------------------------------


def _condition_outcome(block: Any, ctx: Mapping[str, tuple[str, ...]], variables: bool) -> _Outcome:
    """AND of every (operator, key) test in a ``Condition`` block; no block always holds."""
    if block is None:
        return _Outcome(True)
    if not isinstance(block, Mapping):
        return _Outcome(False, unsupported=("Condition",))
    outcomes = [_operator_outcome(name, keys, ctx, variables) for name, keys in block.items()]
    return _all(outcomes)


def _operator_outcome(
    name: str, keys: Any, ctx: Mapping[str, tuple[str, ...]], variables: bool
) -> _Outcome:
    """AND over the keys one operator tests."""
    if not isinstance(keys, Mapping):
        return _Outcome(False, unsupported=(name,))
    return _all(_key_outcome(name, k, v, ctx, variables) for k, v in keys.items())


def _key_outcome(
    name: str, key: str, values: Any, ctx: Mapping[str, tuple[str, ...]], variables: bool
) -> _Outcome:
    """Test one condition key against its policy values (OR over values)."""
    parsed = _parse_operator(name)
    present = ctx.get(key.casefold(), ())
    if parsed.base == "null" and parsed.qualifier == "":
        return _Outcome(_null_holds(present, values))
    spec = _SPECS.get(parsed.base)
    if spec is None or parsed.qualifier is None:
        return _Outcome(False, unsupported=(name,))
    if not present:
        return _absent_outcome(parsed, spec, key)
    texts = [_expand(v, ctx, variables and spec.variables) for v in _strings(values)]
    resolved = [t for t in texts if t.missing is None]
    return _Outcome(_set_holds(parsed.qualifier, spec, present, resolved), _missing_keys(texts))


def _parse_operator(name: str) -> _Operator:
    """Split ``ForAnyValue:StringLikeIfExists`` into its parts (qualifier None if unknown)."""
    prefix, _, base = name.rpartition(":")
    qualifier = (
        prefix.casefold() if prefix.casefold() in ("", "foranyvalue", "forallvalues") else None
    )
    lowered = base.casefold()
    if_exists = lowered.endswith("ifexists") and lowered != "ifexists"
    return _Operator(
        qualifier, lowered.removesuffix("ifexists") if if_exists else lowered, if_exists
    )


def _null_holds(present: tuple[str, ...], values: Any) -> bool:
    """``Null``: "true" holds when the key is absent, "false" when it is present."""
    return any((v.casefold() == "true") == (not present) for v in _strings(values))


def _absent_outcome(parsed: _Operator, spec: _Spec, key: str) -> _Outcome:
    """A key missing from the context: IfExists holds, negated operators and ForAllValues hold."""
    if parsed.if_exists:
        return _Outcome(True)
    if parsed.qualifier == "forallvalues":
        return _Outcome(True, (key,))
    if parsed.qualifier == "foranyvalue":
        return _Outcome(False, (key,))
    return _Outcome(spec.negated, (key,))


def _set_holds(qualifier: str, spec: _Spec, present: tuple[str, ...], texts: list[_Text]) -> bool:
    """Apply the operator to each context value and combine them as the set qualifier says."""

    def single(value: str) -> bool:
        return any(spec.compare(value, t) for t in texts) != spec.negated

    every = qualifier == "forallvalues" or (qualifier == "" and spec.negated)
    return (all if every else any)(single(v) for v in present)


def _all(outcomes: Iterable[_Outcome]) -> _Outcome:
    """AND of outcomes, keeping everything any of them lacked (no short-circuit)."""
    items = list(outcomes)
    return _Outcome(
        all(o.holds for o in items),
        tuple(k for o in items for k in o.missing),
        tuple(u for o in items for u in o.unsupported),
    )


# --- comparisons ----------------------------------------------------------------------------------


def _string_equals(value: str, text: _Text) -> bool:
    """Exact, case-sensitive equality."""
    return value == text.literal


def _string_equals_ignore_case(value: str, text: _Text) -> bool:
    """Equality ignoring case."""
    return value.casefold() == text.literal.casefold()


def _like(value: str, text: _Text) -> bool:
    """Case-sensitive match with ``*`` and ``?`` wildcards."""
    return _pieces_match(text.pieces, value)


def _arn_like(value: str, text: _Text) -> bool:
    """ARN match: each of the six colon-separated parts is matched separately, with wildcards."""
    parts = value.split(":", _ARN_PARTS - 1)
    components = _arn_components(text.pieces)
    if len(parts) != _ARN_PARTS or len(components) != _ARN_PARTS:
        return False
    return all(_pieces_match(c, p) for c, p in zip(components, parts, strict=True))


def _bool_equals(value: str, text: _Text) -> bool:
    """``Bool``: "true"/"false" compared ignoring case."""
    return value.casefold() == text.literal.casefold()


def _ip_in(value: str, text: _Text) -> bool:
    """``IpAddress``: the address lies in the policy's CIDR range."""
    try:
        return ipaddress.ip_address(value) in ipaddress.ip_network(text.literal, strict=False)
    except ValueError:
        return False


def _numeric(compare: Callable[[float, float], bool]) -> Callable[[str, _Text], bool]:
    """A numeric comparison; values that are not numbers never match."""

    def test(value: str, text: _Text) -> bool:
        try:
            return compare(float(value), float(text.literal))
        except ValueError:
            return False

    return test


def _date(compare: Callable[[datetime, datetime], bool]) -> Callable[[str, _Text], bool]:
    """A date comparison (ISO 8601 or epoch seconds); unparsable values never match."""

    def test(value: str, text: _Text) -> bool:
        try:
            return compare(_parse_date(value), _parse_date(text.literal))
        except (ValueError, OverflowError, OSError):
            return False

    return test


def _parse_date(text: str) -> datetime:
    """Parse an ISO 8601 date-time (UTC when no zone is given) or epoch seconds."""
    try:
        return datetime.fromtimestamp(float(text), UTC)
    except ValueError:
        parsed = datetime.fromisoformat(text)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _comparisons(
    prefix: str, make: Callable[[Callable[[Any, Any], bool]], Callable[[str, _Text], bool]]
) -> dict[str, _Spec]:
    """The Equals/NotEquals/LessThan/... family of numeric or date operators."""
    return {
        f"{prefix}equals": _Spec(make(operator.eq)),
        f"{prefix}notequals": _Spec(make(operator.eq), negated=True),
        f"{prefix}lessthan": _Spec(make(operator.lt)),
        f"{prefix}lessthanequals": _Spec(make(operator.le)),
        f"{prefix}greaterthan": _Spec(make(operator.gt)),
        f"{prefix}greaterthanequals": _Spec(make(operator.ge)),
    }


_SPECS: Mapping[str, _Spec] = MappingProxyType(
    {
        "stringequals": _Spec(_string_equals, variables=True),
        "stringnotequals": _Spec(_string_equals, negated=True, variables=True),
        "stringequalsignorecase": _Spec(_string_equals_ignore_case, variables=True),
        "stringnotequalsignorecase": _Spec(
            _string_equals_ignore_case, negated=True, variables=True
        ),
        "stringlike": _Spec(_like, variables=True),
        "stringnotlike": _Spec(_like, negated=True, variables=True),
        "arnequals": _Spec(_arn_like, variables=True),
        "arnlike": _Spec(_arn_like, variables=True),
        "arnnotequals": _Spec(_arn_like, negated=True, variables=True),
        "arnnotlike": _Spec(_arn_like, negated=True, variables=True),
        "bool": _Spec(_bool_equals, variables=True),
        "binaryequals": _Spec(_string_equals),
        "ipaddress": _Spec(_ip_in),
        "notipaddress": _Spec(_ip_in, negated=True),
        **_comparisons("numeric", _numeric),
        **_comparisons("date", _date),
    }
)


# --- text, wildcards and policy variables ---------------------------------------------------------


def _expand(text: str, ctx: Mapping[str, tuple[str, ...]], variables: bool) -> _Text:
    """Resolve ``${key}``, ``${key, 'default'}``, ``${*}``, ``${?}`` and ``${$}`` in a string."""
    if not variables:
        return _Text(((True, text),))
    pieces: list[tuple[bool, str]] = []
    position = 0
    for match in _VARIABLE.finditer(text):
        pieces.append((True, text[position : match.start()]))
        key, value = _resolve_variable(match.group(1), ctx)
        if value is None:
            return _Text(missing=key)
        pieces.append((False, value))
        position = match.end()
    pieces.append((True, text[position:]))
    return _Text(tuple(pieces))


def _resolve_variable(body: str, ctx: Mapping[str, tuple[str, ...]]) -> tuple[str, str | None]:
    """The key a variable names and its value (single-valued key, else default, else None)."""
    if body in ("*", "?", "$"):
        return body, body
    with_default = _VARIABLE_DEFAULT.fullmatch(body)
    if with_default:
        key, default = with_default.group(1), with_default.group(2).replace("''", "'")
    else:
        key, default = body.strip(), None
    values = ctx.get(key.casefold(), ())
    return key, values[0] if len(values) == 1 else default


def _arn_components(pieces: tuple[tuple[bool, str], ...]) -> list[tuple[tuple[bool, str], ...]]:
    """Split pieces at the first five colons into the six ARN components."""
    components: list[list[tuple[bool, str]]] = [[]]
    for wild, chunk in pieces:
        splits = chunk.split(":", _ARN_PARTS - len(components))
        components[-1].append((wild, splits[0]))
        components.extend([(wild, s)] for s in splits[1:])
    return [tuple(c) for c in components]


def _glob_regex(pattern: str) -> str:
    """A regular expression for a pattern where ``*`` and ``?`` are wildcards."""
    return "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)


def _pieces_regex(pieces: Iterable[tuple[bool, str]]) -> str:
    """A regular expression for resolved pieces: wildcards only outside variable values."""
    return "".join(_glob_regex(chunk) if wild else re.escape(chunk) for wild, chunk in pieces)


def _pieces_match(pieces: tuple[tuple[bool, str], ...], value: str) -> bool:
    """Whether the whole value matches the pieces (plain comparison when there is no wildcard)."""
    if not any(wild and ("*" in chunk or "?" in chunk) for wild, chunk in pieces):
        return value == "".join(chunk for _, chunk in pieces)
    return re.fullmatch(_pieces_regex(pieces), value, re.DOTALL) is not None


# --- small utilities ------------------------------------------------------------------------------


def _strings(value: Any) -> tuple[str, ...]:
    """A policy or context value as a tuple of strings (booleans as "true"/"false")."""
    if isinstance(value, bool):
        return ("true" if value else "false",)
    if isinstance(value, str | int | float):
        return (str(value),)
    if value is None:
        return ()
    return tuple(s for item in value for s in _strings(item))


def _normalise_context(context: Context | None) -> Mapping[str, tuple[str, ...]]:
    """Context keys case-folded and values as string tuples; empty values count as absent."""
    normalised = {key.casefold(): _strings(value) for key, value in (context or {}).items()}
    return {key: values for key, values in normalised.items() if values}


def _missing_keys(texts: Iterable[_Text]) -> tuple[str, ...]:
    """The keys of unresolved variables."""
    return tuple(t.missing for t in texts if t.missing is not None)


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    """Items without case-insensitive duplicates, first spelling and order kept."""
    seen: dict[str, str] = {}
    for item in items:
        seen.setdefault(item.casefold(), item)
    return tuple(seen.values())
