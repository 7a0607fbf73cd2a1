"""Reading role trust policies: who may assume a role (SageMaker, a service account, a pod)."""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from helpers import policies


def document(value: Any) -> dict[str, Any]:
    """Return a policy document as a dict (IAM may hand it over URL-encoded JSON)."""
    if isinstance(value, Mapping):
        return dict(value)
    text = str(value)
    return dict(json.loads(text if text.lstrip().startswith("{") else unquote(text)))


def as_list(value: Any) -> list[Any]:
    """Return a policy element as a list (IAM allows a single value or a list)."""
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def statements(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Return the statements of a policy document."""
    return [dict(st) for st in as_list(doc.get("Statement")) if isinstance(st, Mapping)]


def _allows(st: Mapping[str, Any], action: str) -> bool:
    return st.get("Effect") == "Allow" and action in as_list(st.get("Action"))


def _principals(st: Mapping[str, Any], kind: str) -> list[str]:
    principal = st.get("Principal")
    if not isinstance(principal, Mapping):
        return []
    return [str(p) for p in as_list(principal.get(kind))]


def trusts_service(doc: Mapping[str, Any], service: str) -> bool:
    """Return True when the trust lets an AWS service (e.g. sagemaker.amazonaws.com) assume it."""
    return any(
        _allows(st, "sts:AssumeRole") and service in _principals(st, "Service")
        for st in statements(doc)
    )


def with_service(doc: Mapping[str, Any], service: str) -> dict[str, Any]:
    """Return the trust with a statement added that lets the service assume the role."""
    added = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    return {"Version": policies.VERSION, "Statement": [*statements(doc), added]}


def uses_pod_identity(doc: Mapping[str, Any]) -> bool:
    """Return True when the trust is for EKS Pod Identity (pods.eks.amazonaws.com)."""
    return any(
        policies.POD_IDENTITY_SERVICE in _principals(st, "Service") for st in statements(doc)
    )


def pod_identity_problems(doc: Mapping[str, Any]) -> list[str]:
    """What a Pod Identity trust lacks (it needs sts:AssumeRole and sts:TagSession)."""
    actions = {
        a
        for st in statements(doc)
        if policies.POD_IDENTITY_SERVICE in _principals(st, "Service")
        and st.get("Effect") == "Allow"
        for a in as_list(st.get("Action"))
    }
    return [
        f"its trust for {policies.POD_IDENTITY_SERVICE} lacks {action}"
        for action in ("sts:AssumeRole", "sts:TagSession")
        if action not in actions
    ]


def web_identity_statements(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Return the statements that let a federated (OIDC) identity assume the role."""
    return [st for st in statements(doc) if _allows(st, policies.WEB_IDENTITY_ACTION)]


def irsa_findings(
    doc: Mapping[str, Any], provider_arn: str, issuer: str, subject: str
) -> tuple[list[str], list[str]]:
    """Return (problems, warnings) of an IRSA trust against the cluster and service account."""
    web = web_identity_statements(doc)
    if not web:
        return [
            "its trust has no sts:AssumeRoleWithWebIdentity statement, so no service account "
            "can assume it"
        ], []
    findings = [_statement_findings(st, provider_arn, issuer, subject) for st in web]
    good = [warnings for problems, warnings in findings if not problems]
    if not good:
        return _unique(p for problems, _ in findings for p in problems), []
    extra = len(web) - len(good)
    warnings = [w for ws in good for w in ws]
    if extra:
        warnings.append(f"it also trusts {extra} other web-identity statement(s)")
    return [], _unique(warnings)


def _statement_findings(
    st: Mapping[str, Any], provider_arn: str, issuer: str, subject: str
) -> tuple[list[str], list[str]]:
    host = policies.issuer_host(issuer)
    problems: list[str] = []
    warnings: list[str] = []
    federated = _principals(st, "Federated")
    if any("oidc-provider/https://" in f or "oidc-provider/http://" in f for f in federated):
        problems.append(
            f"it names the provider as {federated[0]}: IAM provider ARNs and condition keys take "
            "the issuer URL without https://"
        )
    elif provider_arn not in federated:
        problems.append(
            f"it trusts {', '.join(federated) or 'no provider'}, not this cluster's provider "
            f"{provider_arn}"
        )
    conditions = _conditions(st)
    if any(key.startswith(("https://", "http://")) for key, _, _ in conditions):
        problems.append(
            f"its condition keys keep https://; write them as {host}:aud and {host}:sub"
        )
    problems += _key_findings(conditions, f"{host}:sub", subject, "sub", warnings)
    problems += _key_findings(conditions, f"{host}:aud", policies.STS_AUDIENCE, "aud", warnings)
    return _unique(problems), warnings


def _conditions(st: Mapping[str, Any]) -> list[tuple[str, str, list[str]]]:
    """(key, operator, values) of the statement's string conditions."""
    found = []
    condition = st.get("Condition")
    if not isinstance(condition, Mapping):
        return []
    for operator, tests in condition.items():
        if operator in ("StringEquals", "StringLike") and isinstance(tests, Mapping):
            for key, values in tests.items():
                found.append((str(key), operator, [str(v) for v in as_list(values)]))
    return found


def _key_findings(
    conditions: list[tuple[str, str, list[str]]],
    key: str,
    wanted: str,
    label: str,
    warnings: list[str],
) -> list[str]:
    tests = [(op, values) for k, op, values in conditions if k.lower() == key.lower()]
    if not tests:
        others = sorted({k for k, _, _ in conditions if k.endswith(f":{label}")})
        if others:
            return [f"its {label} condition is for {', '.join(others)}, not {key}"]
        return [f"it has no {key} condition (it must be {wanted})"]
    problems = []
    for op, values in tests:
        if op == "StringEquals" and wanted not in values:
            problems.append(f"its {label} is {', '.join(values)}, not {wanted}")
        elif op == "StringLike":
            if not any(fnmatch.fnmatchcase(wanted, v) for v in values):
                problems.append(f"its {label} pattern {', '.join(values)} does not match {wanted}")
            elif wanted not in values:
                shown = ", ".join(values)
                warnings.append(f"its {label} pattern {shown} admits more than {wanted}")
    return problems


def fixed_irsa_trust(
    doc: Mapping[str, Any], account: str, issuer: str, namespace: str, service_account: str
) -> dict[str, Any]:
    """The trust with its web-identity statements replaced by the one this cluster needs."""
    kept = [st for st in statements(doc) if not _allows(st, policies.WEB_IDENTITY_ACTION)]
    return {
        "Version": policies.VERSION,
        "Statement": [
            *kept,
            policies.irsa_statement(account, issuer, namespace, service_account),
        ],
    }


def _unique(items: Any) -> list[str]:
    return list(dict.fromkeys(items))
