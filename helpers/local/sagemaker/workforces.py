"""Local private workforces and workteams, tied to Cognito in the local AWS, plus resource tags.

A workforce's `SubDomain` is where its labeling portal is. AWS gives a bare host name there
(`<id>.labeling.<region>.sagemaker.aws`, opened with `https://`); the local AWS gives its own
portal, `localhost:<port>/portal/<id>` (opened with `http://`, the scheme of the endpoint), so the
walkthrough prints `<scheme of the SageMaker endpoint>://<SubDomain>` in both modes. The portal is
on `localhost` while S3's presigned links are on `127.0.0.1`: as on AWS, task pages load their
images from another origin, so the bucket's CORS rule matters.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from botocore.exceptions import ClientError

from helpers.local.core import Backend, Clock, ServiceError, in_use, not_found, utc, validation
from helpers.local.sagemaker.common import sagemaker_arn

DEFAULT_WORKFORCE = "default"
#: The path under which the local AWS serves the labeling portal of each workforce.
PORTAL_PREFIX = "/portal/"


@dataclass
class Workforces:
    """Answers the workforce, workteam and tag operations; one private workforce per region."""

    backend: Backend
    clock: Clock
    _lock: threading.RLock = field(default_factory=threading.RLock)
    _workforces: dict[str, dict[str, Any]] = field(default_factory=dict)  # region -> workforce
    _workteams: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    _tags: dict[str, dict[str, str]] = field(default_factory=dict)  # arn -> tags

    # --- tags -------------------------------------------------------------------------------------

    def set_tags(self, arn: str, tags: list[dict[str, str]] | None) -> None:
        """Record tags for a resource (creating operations call this)."""
        with self._lock:
            self._tags.setdefault(arn, {}).update({t["Key"]: t["Value"] for t in tags or []})

    def tags_of(self, arn: str) -> list[dict[str, str]]:
        """Return a resource's tags in the API's list form."""
        with self._lock:
            return [{"Key": k, "Value": v} for k, v in self._tags.get(arn, {}).items()]

    def forget_tags(self, arn: str) -> None:
        """Drop a deleted resource's tags."""
        with self._lock:
            self._tags.pop(arn, None)

    def add_tags(self, request: dict[str, Any], region: str) -> dict[str, Any]:
        """AddTags."""
        self._require_known(request["ResourceArn"])
        self.set_tags(request["ResourceArn"], request["Tags"])
        return {"Tags": self.tags_of(request["ResourceArn"])}

    def list_tags(self, request: dict[str, Any], region: str) -> dict[str, Any]:
        """ListTags."""
        self._require_known(request["ResourceArn"])
        return {"Tags": self.tags_of(request["ResourceArn"])}

    def delete_tags(self, request: dict[str, Any], region: str) -> dict[str, Any]:
        """DeleteTags."""
        self._require_known(request["ResourceArn"])
        with self._lock:
            for key in request["TagKeys"]:
                self._tags.get(request["ResourceArn"], {}).pop(key, None)
        return {}

    def _require_known(self, arn: str) -> None:
        with self._lock:
            if arn not in self._tags:
                raise validation(f"Resource {arn} does not exist or is not taggable")

    # --- workforces -------------------------------------------------------------------------------

    def create_workforce(self, request: dict[str, Any], region: str) -> dict[str, Any]:
        """CreateWorkforce (Cognito only: one private workforce per account and region)."""
        cognito = request.get("CognitoConfig")
        if not cognito:
            raise validation("The local AWS supports Cognito workforces only (CognitoConfig)")
        with self._lock:
            if region in self._workforces:
                raise in_use(
                    f"A private workforce already exists in {region}: "
                    f"{self._workforces[region]['WorkforceName']}. There can be one per "
                    "account and region."
                )
            self._check_pool_and_client(cognito["UserPool"], cognito["ClientId"])
            workforce = self._new_workforce(request["WorkforceName"], cognito, region)
            self.set_tags(workforce["WorkforceArn"], request.get("Tags"))
            return {"WorkforceArn": workforce["WorkforceArn"]}

    def _new_workforce(self, name: str, cognito: dict[str, str], region: str) -> dict[str, Any]:
        now = utc(self.clock.now())
        digest = hashlib.sha256(f"{region}/{cognito['UserPool']}".encode()).hexdigest()[:10]
        workforce = {
            "WorkforceName": name,
            "WorkforceArn": sagemaker_arn(region, "workforce", name),
            "LastUpdatedDate": now,
            "SourceIpConfig": {"Cidrs": []},
            "SubDomain": self._subdomain(digest, region),
            "CognitoConfig": {"UserPool": cognito["UserPool"], "ClientId": cognito["ClientId"]},
            "CreateDate": now,
            "Status": "Active",
        }
        self._workforces[region] = workforce
        self._tags.setdefault(workforce["WorkforceArn"], {})
        return workforce

    def _subdomain(self, digest: str, region: str) -> str:
        """The portal's address without scheme (AWS's form where the endpoint has no port)."""
        port = urlsplit(self.backend.endpoint_url).port
        if port is None:
            return f"{digest}.labeling.{region}.sagemaker.aws"
        return f"localhost:{port}{PORTAL_PREFIX}{digest}"

    def by_portal_id(self, portal_id: str) -> tuple[str, dict[str, Any]] | None:
        """The region and workforce whose portal is `/portal/<portal_id>`, or None."""
        with self._lock:
            for region, workforce in self._workforces.items():
                if workforce["SubDomain"].endswith(PORTAL_PREFIX + portal_id):
                    return region, dict(workforce)
        return None

    def describe_workforce(self, request: dict[str, Any], region: str) -> dict[str, Any]:
        """DescribeWorkforce."""
        with self._lock:
            workforce = self._workforces.get(region)
            if not workforce or workforce["WorkforceName"] != request["WorkforceName"]:
                raise not_found(f"Workforce {request['WorkforceName']} does not exist in {region}")
            return {"Workforce": dict(workforce)}

    def list_workforces(self, request: dict[str, Any], region: str) -> dict[str, Any]:
        """ListWorkforces."""
        with self._lock:
            found = [
                dict(w)
                for r, w in self._workforces.items()
                if r == region and request.get("NameContains", "") in w["WorkforceName"]
            ]
        return {"Workforces": found}

    def delete_workforce(self, request: dict[str, Any], region: str) -> dict[str, Any]:
        """DeleteWorkforce (refused while teams still use it, as on AWS)."""
        with self._lock:
            workforce = self._workforces.get(region)
            if not workforce or workforce["WorkforceName"] != request["WorkforceName"]:
                return {}
            if any(r == region for r, _ in self._workteams):
                raise validation("Delete the workforce's work teams before the workforce")
            del self._workforces[region]
            self.forget_tags(workforce["WorkforceArn"])
        return {}

    def workforce(self, region: str) -> dict[str, Any] | None:
        """Return the region's private workforce, if any."""
        with self._lock:
            return self._workforces.get(region)

    # --- workteams --------------------------------------------------------------------------------

    def create_workteam(self, request: dict[str, Any], region: str) -> dict[str, Any]:
        """CreateWorkteam: Cognito members must exist and match the private workforce."""
        name = request["WorkteamName"]
        members = request["MemberDefinitions"]
        cognito = [m["CognitoMemberDefinition"] for m in members if "CognitoMemberDefinition" in m]
        if not cognito or len(cognito) != len(members):
            raise validation("The local AWS supports Cognito member definitions only")
        with self._lock:
            if (region, name) in self._workteams:
                raise in_use(f"Workteam {name} already exists")
            pools = {(m["UserPool"], m["ClientId"]) for m in cognito}
            if len(pools) != 1:
                raise validation(
                    "All member definitions of a team must use the same user pool and app client"
                )
            pool, client = pools.pop()
            self._check_pool_and_client(pool, client)
            for member in cognito:
                self._check_group(member["UserPool"], member["UserGroup"])
            workforce = self._workforces.get(region) or self._new_workforce(
                DEFAULT_WORKFORCE, {"UserPool": pool, "ClientId": client}, region
            )
            expected = workforce["CognitoConfig"]
            if (pool, client) != (expected["UserPool"], expected["ClientId"]):
                raise validation(
                    f"The user pool {pool} and app client {client} do not match the private "
                    f"workforce of this account in {region}, which uses user pool "
                    f"{expected['UserPool']} and app client {expected['ClientId']}"
                )
            now = utc(self.clock.now())
            team = {
                "WorkteamName": name,
                "MemberDefinitions": members,
                "WorkteamArn": sagemaker_arn(region, "workteam/private-crowd", name),
                "WorkforceArn": workforce["WorkforceArn"],
                "ProductListingIds": [],
                "Description": request["Description"],
                "SubDomain": workforce["SubDomain"],
                "CreateDate": now,
                "LastUpdatedDate": now,
            }
            if request.get("NotificationConfiguration"):
                team["NotificationConfiguration"] = request["NotificationConfiguration"]
            self._workteams[(region, name)] = team
            self._tags[team["WorkteamArn"]] = {}
            self.set_tags(team["WorkteamArn"], request.get("Tags"))
            return {"WorkteamArn": team["WorkteamArn"]}

    def describe_workteam(self, request: dict[str, Any], region: str) -> dict[str, Any]:
        """DescribeWorkteam."""
        return {"Workteam": dict(self.workteam(region, request["WorkteamName"]))}

    def workteam(self, region: str, name: str) -> dict[str, Any]:
        """Return a workteam's record, or raise ResourceNotFound."""
        with self._lock:
            team = self._workteams.get((region, name))
        if team is None:
            raise not_found(f"Workteam {name} does not exist in {region}")
        return team

    def workteam_by_arn(self, arn: str) -> dict[str, Any]:
        """Return the workteam an ARN names, or raise ValidationException."""
        parts = arn.split(":")
        if len(parts) != 6 or not parts[5].startswith("workteam/private-crowd/"):
            raise validation(f"WorkteamArn {arn} is not a private workteam ARN")
        try:
            return self.workteam(parts[3], parts[5].split("/", 2)[2])
        except ServiceError as exc:
            raise validation(f"Workteam {arn} does not exist") from exc

    def list_workteams(self, request: dict[str, Any], region: str) -> dict[str, Any]:
        """ListWorkteams."""
        contains = request.get("NameContains", "")
        with self._lock:
            teams = [
                dict(t) for (r, n), t in self._workteams.items() if r == region and contains in n
            ]
        reverse = request.get("SortOrder", "Ascending") == "Descending"
        key = "CreateDate" if request.get("SortBy") == "CreateDate" else "WorkteamName"
        return {"Workteams": sorted(teams, key=lambda t: t[key], reverse=reverse)}

    def delete_workteam(self, request: dict[str, Any], region: str) -> dict[str, Any]:
        """DeleteWorkteam."""
        with self._lock:
            team = self._workteams.pop((region, request["WorkteamName"]), None)
        if team is None:
            raise not_found(f"Workteam {request['WorkteamName']} does not exist in {region}")
        self.forget_tags(team["WorkteamArn"])
        return {"Success": True}

    def team_usernames(self, team: dict[str, Any]) -> list[str]:
        """Return the Cognito users of a team's groups (the workers), sorted."""
        names: set[str] = set()
        for member in team["MemberDefinitions"]:
            cognito = member["CognitoMemberDefinition"]
            idp = self.backend.client("cognito-idp", _pool_region(cognito["UserPool"]))
            pages = idp.get_paginator("list_users_in_group").paginate(
                UserPoolId=cognito["UserPool"], GroupName=cognito["UserGroup"]
            )
            names.update(u["Username"] for page in pages for u in page["Users"])
        return sorted(names)

    # --- Cognito checks ---------------------------------------------------------------------------

    def _check_pool_and_client(self, pool: str, client: str) -> None:
        idp = self.backend.client("cognito-idp", _pool_region(pool))
        try:
            idp.describe_user_pool(UserPoolId=pool)
        except ClientError as exc:
            raise validation(f"Cognito user pool {pool} does not exist") from exc
        try:
            idp.describe_user_pool_client(UserPoolId=pool, ClientId=client)
        except ClientError as exc:
            raise validation(f"App client {client} does not exist in user pool {pool}") from exc

    def _check_group(self, pool: str, group: str) -> None:
        idp = self.backend.client("cognito-idp", _pool_region(pool))
        try:
            idp.get_group(UserPoolId=pool, GroupName=group)
        except ClientError as exc:
            raise validation(f"Cognito group {group} does not exist in user pool {pool}") from exc


def _pool_region(pool_id: str) -> str:
    return pool_id.split("_", 1)[0]
