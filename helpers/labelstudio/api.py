"""A small client of Label Studio's HTTP API (the calls this walkthrough makes), over urllib.

Self-contained on purpose: the pipeline's labeling step ships this package into its pod, which has
the standard library, boto3 and numpy only. Both kinds of Label Studio API token work: a
personal access token (a JWT refresh token; exchanged at `/api/token/refresh/` for short-lived
access tokens, sent as `Bearer`) and a legacy token (sent as `Token`). The token is never part of
an error message, a repr or a log line.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

#: Seconds a request may take before it is abandoned.
TIMEOUT = 60.0
#: Refresh a personal access token's access token this long before it expires (5 minutes).
ACCESS_LIFETIME = 240.0
#: Tasks per page when listing a project's tasks.
PAGE_SIZE = 100


class LabelStudioError(Exception):
    """A Label Studio request failed: the call, the HTTP status and what the server said."""

    def __init__(self, call: str, status: int, detail: str) -> None:
        super().__init__(f"Label Studio {call}: HTTP {status}: {detail}")
        self.call = call
        self.status = status
        self.detail = detail


def is_personal_access_token(token: str) -> bool:
    """Whether `token` is a personal access token (a JWT: three dot-separated parts)."""
    return token.count(".") == 2


class Client:
    """Label Studio's API at `url`, as the user whose API token is `token`."""

    def __init__(self, url: str, token: str, timeout: float = TIMEOUT) -> None:
        self.url = url.rstrip("/")
        self._token = token
        self._timeout = timeout
        self._access: tuple[str, float] | None = None  # (access token, when it was issued)

    def __repr__(self) -> str:
        return f"Client({self.url!r}, token=<hidden>)"

    # --- plumbing -------------------------------------------------------------------------------

    def _authorization(self) -> str:
        if not is_personal_access_token(self._token):
            return f"Token {self._token}"
        now = time.monotonic()
        if self._access is None or now - self._access[1] > ACCESS_LIFETIME:
            answer = self._send("POST", "/api/token/refresh/", {"refresh": self._token}, None)
            self._access = (str(answer["access"]), now)
        return f"Bearer {self._access[0]}"

    def request(self, method: str, path: str, body: Any = None) -> Any:
        """Send one API request; return the decoded JSON answer (None when empty)."""
        return self._send(method, path, body, self._authorization())

    def _send(self, method: str, path: str, body: Any, authorization: str | None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        if authorization:
            headers["Authorization"] = authorization
        request = urllib.request.Request(
            f"{self.url}{path}", data=data, headers=headers, method=method
        )
        call = f"{method} {path.split('?', 1)[0]}"
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as error:
            raise LabelStudioError(call, error.code, _detail(error.read())) from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise LabelStudioError(call, 0, f"cannot reach {self.url}: {reason}") from None
        return json.loads(raw) if raw.strip() else None

    # --- who and what ---------------------------------------------------------------------------

    def version(self) -> str:
        """The server's Label Studio release (e.g. 1.23.2)."""
        return str(self.request("GET", "/api/version")["release"])

    def whoami(self) -> dict[str, Any]:
        """The token's user: id, email, permissions (e.g. `projects.create`)."""
        return dict(self.request("GET", "/api/current-user/whoami"))

    def users(self) -> list[dict[str, Any]]:
        """The users of the token user's organization."""
        return list(self.request("GET", "/api/users/"))

    # --- projects -------------------------------------------------------------------------------

    def projects(self) -> list[dict[str, Any]]:
        """Every project the token's user can see."""
        found: list[dict[str, Any]] = []
        page = 1
        while True:
            answer = self.request("GET", f"/api/projects/?page={page}&page_size={PAGE_SIZE}")
            found += answer["results"]
            if not answer.get("next"):
                return found
            page += 1

    def project(self, project_id: int) -> dict[str, Any]:
        """One project, with its counts (`task_number`, `num_tasks_with_annotations`, ...)."""
        return dict(self.request("GET", f"/api/projects/{project_id}/"))

    def create_project(self, **fields: Any) -> dict[str, Any]:
        """Create a project (title, label_config, maximum_annotations, expert_instruction...)."""
        return dict(self.request("POST", "/api/projects/", fields))

    def update_project(self, project_id: int, **fields: Any) -> dict[str, Any]:
        """Change some of a project's fields."""
        return dict(self.request("PATCH", f"/api/projects/{project_id}/", fields))

    def delete_project(self, project_id: int) -> None:
        """Delete a project with its tasks and annotations."""
        self.request("DELETE", f"/api/projects/{project_id}/")

    # --- tasks and annotations ------------------------------------------------------------------

    def import_tasks(self, project_id: int, tasks: list[dict[str, Any]]) -> dict[str, Any]:
        """Import tasks (each `{"data": {...}}`) into a project."""
        return dict(self.request("POST", f"/api/projects/{project_id}/import", tasks))

    def tasks(self, project_id: int, resolve_uri: bool = True) -> list[dict[str, Any]]:
        """Every task of a project (`resolve_uri=False`: storage URIs such as s3:// as imported)."""
        found: list[dict[str, Any]] = []
        page = 1
        extra = "" if resolve_uri else "&resolve_uri=false&fields=task_only"
        while True:
            path = f"/api/tasks/?project={project_id}&page={page}&page_size={PAGE_SIZE}{extra}"
            try:
                answer = self.request("GET", path)
            except LabelStudioError as error:
                if error.status == 404 and page > 1:  # past the last page
                    return found
                raise
            found += answer["tasks"]
            if len(found) >= answer.get("total", 0) or not answer["tasks"]:
                return found
            page += 1

    def next_task(self, project_id: int) -> dict[str, Any] | None:
        """The next task the token's user should label in a project, or None when none is left."""
        try:
            return dict(self.request("GET", f"/api/projects/{project_id}/next/"))
        except LabelStudioError as error:
            if error.status == 404:
                return None
            raise

    def annotate(self, task_id: int, result: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
        """Submit an annotation of a task as the token's user (`lead_time` in seconds, ...)."""
        body = {"result": result, **fields}
        return dict(self.request("POST", f"/api/tasks/{task_id}/annotations/", body))

    def export(self, project_id: int) -> list[dict[str, Any]]:
        """Every task of a project with its annotations (Label Studio's JSON export)."""
        return list(
            self.request(
                "GET", f"/api/projects/{project_id}/export?exportType=JSON&download_all_tasks=true"
            )
        )

    # --- storage --------------------------------------------------------------------------------

    def s3_storages(self, project_id: int) -> list[dict[str, Any]]:
        """The S3 source storages connected to a project."""
        return list(self.request("GET", f"/api/storages/s3/?project={project_id}"))

    def validate_s3_storage(self, **fields: Any) -> None:
        """Ask Label Studio to check an S3 source storage (it lists the bucket's prefix)."""
        self.request("POST", "/api/storages/s3/validate", fields)

    def create_s3_storage(self, **fields: Any) -> dict[str, Any]:
        """Connect an S3 source storage (project, bucket, prefix, presign, s3_endpoint...)."""
        return dict(self.request("POST", "/api/storages/s3/", fields))


def _detail(raw: bytes) -> str:
    """What an error answer says: its `detail` and validation errors, else its text."""
    try:
        body = json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")[:300]
    if isinstance(body, dict):
        parts = [str(body.get("detail", ""))]
        if body.get("validation_errors"):
            parts.append(json.dumps(body["validation_errors"]))
        return " ".join(p for p in parts if p) or json.dumps(body)[:300]
    return json.dumps(body)[:300]


def encode(value: str) -> str:
    """A value made safe for a query string."""
    return urllib.parse.quote(value, safe="")


def server_version(url: str, timeout: float = TIMEOUT) -> str:
    """The Label Studio release a server at `url` runs (`/api/version` needs no token)."""
    return Client(url, "", timeout)._send("GET", "/api/version", None, None)["release"]
