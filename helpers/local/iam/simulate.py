"""IAM's SimulatePrincipalPolicy for the local AWS (moto lacks it), answered from the evaluator."""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from helpers.local.core import ServiceError
from helpers.local.iam.role_access import RoleAccess

_MEMBER = re.compile(r"^(ActionNames|ResourceArns)\.member\.(\d+)$")
_CONTEXT = re.compile(
    r"^ContextEntries\.member\.(\d+)\.(ContextKeyName|ContextKeyType|"
    r"ContextKeyValues\.member\.(\d+))$"
)


def parse_request(body: bytes) -> dict[str, Any]:
    """Turn the query-protocol form body into action names, resources and context entries."""
    form = {k: v[0] for k, v in parse_qs(body.decode("utf-8"), keep_blank_values=True).items()}
    lists: dict[str, dict[int, str]] = defaultdict(dict)
    context: dict[int, dict[str, Any]] = defaultdict(lambda: {"values": {}})
    for key, value in form.items():
        if match := _MEMBER.match(key):
            lists[match.group(1)][int(match.group(2))] = value
        elif match := _CONTEXT.match(key):
            entry = context[int(match.group(1))]
            if match.group(3):
                entry["values"][int(match.group(3))] = value
            else:
                entry[match.group(2)] = value
    return {
        "source": form.get("PolicySourceArn", ""),
        "actions": [v for _, v in sorted(lists["ActionNames"].items())],
        "resources": [v for _, v in sorted(lists["ResourceArns"].items())] or ["*"],
        "context": {
            e["ContextKeyName"]: [v for _, v in sorted(e["values"].items())]
            for _, e in sorted(context.items())
            if "ContextKeyName" in e
        },
    }


def simulate_principal_policy(roles: RoleAccess, body: bytes) -> str:
    """Answer SimulatePrincipalPolicy for a role ARN as IAM's XML response."""
    request = parse_request(body)
    if ":role/" not in request["source"]:
        raise ServiceError(
            "InvalidInput", "The local AWS simulates roles only: PolicySourceArn must be a role ARN"
        )
    if not request["actions"]:
        raise ServiceError("InvalidInput", "ActionNames must name at least one action")
    try:
        roles.require_role(request["source"])
    except ServiceError as exc:
        raise ServiceError(
            "NoSuchEntity", f"The role {request['source']} cannot be found.", 404
        ) from exc
    decisions = roles.decide(
        request["source"], request["actions"], request["resources"], request["context"]
    )
    members = "".join(_result(d) for d in decisions)
    return (
        '<SimulatePrincipalPolicyResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">'
        "<SimulatePrincipalPolicyResult><IsTruncated>false</IsTruncated>"
        f"<EvaluationResults>{members}</EvaluationResults></SimulatePrincipalPolicyResult>"
        f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>"
        "</SimulatePrincipalPolicyResponse>"
    )


def _result(decision: Any) -> str:
    matched = "".join(
        f"<member><SourcePolicyId>{escape(m.policy)}</SourcePolicyId>"
        "<SourcePolicyType>IAM Policy</SourcePolicyType></member>"
        for m in decision.matched
    )
    missing = "".join(f"<member>{escape(k)}</member>" for k in decision.missing_context)
    return (
        f"<member><EvalActionName>{escape(decision.action)}</EvalActionName>"
        f"<EvalResourceName>{escape(decision.resource)}</EvalResourceName>"
        f"<EvalDecision>{decision.decision}</EvalDecision>"
        f"<MatchedStatements>{matched}</MatchedStatements>"
        f"<MissingContextValues>{missing}</MissingContextValues></member>"
    )


def respond(roles: RoleAccess, body: bytes) -> tuple[int, str]:
    """Answer a SimulatePrincipalPolicy request: HTTP status and IAM's XML (or error XML)."""
    try:
        return 200, simulate_principal_policy(roles, body)
    except ServiceError as exc:
        return exc.status, error_xml(exc.code, exc.message)


def error_xml(code: str, message: str) -> str:
    """An IAM error response body."""
    return (
        f'<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error>'
        f"<Type>Sender</Type><Code>{escape(code)}</Code><Message>{escape(message)}</Message>"
        f"</Error><RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
    )
