"""A loopback stand-in for the KFP v2beta1 API, strict about what it accepts.

Request bodies are decoded with kfp-server-api's own models and refused when they carry a field
the model does not have; uploads must be compiled pipeline specs. Everything the client sent
is kept for the test to assert on.

In multi-user mode pipelines live in namespaces, as on Kubeflow: listing without a namespace
shows only shared pipelines, and a name is unique within its namespace (an upload of a taken
name is refused with ALREADY_EXISTS). With an `executor` (tests/rehearsal/cluster.py) a created
run is executed from its uploaded spec and GetRun reports the run's and its tasks' states;
without one, a test sets a run's state itself.
"""

from __future__ import annotations

import email.parser
import itertools
import json
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import kfp_server_api
import yaml

PREFIX = "/apis/v2beta1/"


def decode(model: type, data: Any) -> Any:
    """Build a kfp-server-api model from JSON, refusing fields the model does not define."""
    if not isinstance(data, dict):
        raise ValueError(f"{model.__name__} must be a JSON object")
    by_json = {json_name: attr for attr, json_name in model.attribute_map.items()}
    unknown = sorted(set(data) - set(by_json))
    if unknown:
        raise ValueError(f"{model.__name__} has no field(s) {unknown}")
    values = {}
    for json_name, value in data.items():
        attr = by_json[json_name]
        kind = model.openapi_types[attr]
        nested = getattr(kfp_server_api.models, kind, None)
        values[attr] = decode(nested, value) if nested and isinstance(value, dict) else value
    return model(**values)


@dataclass
class FakeKfp:
    """The state of the fake KFP API and the requests it received."""

    pipelines: dict[str, dict[str, Any]] = field(default_factory=dict)
    versions: dict[str, dict[str, Any]] = field(default_factory=dict)
    experiments: dict[str, dict[str, Any]] = field(default_factory=dict)
    runs: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    multi_user: bool = False
    #: runs the runs (start/report/terminate), or None: a test sets `runs[id]["state"]`
    executor: Any = None
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    def new_id(self, kind: str) -> str:
        """A fresh id for a created object."""
        return f"{kind}-{next(self._ids)}"


class Conflict(Exception):
    """A request that names something that exists already (HTTP 409, ALREADY_EXISTS)."""


def _filter_value(query: dict[str, list[str]], key: str) -> str | None:
    raw = query.get("filter", [""])[0]
    if not raw:
        return None
    for predicate in json.loads(raw).get("predicates", []):
        if predicate.get("key") == key:
            return predicate.get("stringValue") or predicate.get("string_value")
    return None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _upload(handler: BaseHTTPRequestHandler, body: bytes) -> dict[str, Any]:
    header = f"Content-Type: {handler.headers['Content-Type']}\r\n\r\n".encode()
    message = email.parser.BytesParser().parsebytes(header + body)
    for part in message.get_payload():
        if part.get_param("name", header="content-disposition") == "uploadfile":
            # a pipeline spec, then (with kfp-kubernetes) its platform spec
            spec = next(yaml.safe_load_all(part.get_payload(decode=True)))
            if "pipelineInfo" not in spec or "root" not in spec:
                raise ValueError("the upload is not a compiled KFP v2 pipeline spec")
            return spec
    raise ValueError("no uploadfile in the multipart body")


class _Handler(BaseHTTPRequestHandler):
    fake: FakeKfp

    def log_message(self, *args: object) -> None:
        pass

    def _send(self, status: int, payload: Any) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _handle(self, method: str) -> None:
        url = urlparse(self.path)
        query = parse_qs(url.query)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.fake.requests.append((method, url.path))
        try:
            status, payload = self._route(method, url.path[len(PREFIX) :], query, body)
        except Conflict as exc:
            status, payload = 409, {"error": str(exc), "code": 6, "message": str(exc)}
        except (ValueError, KeyError) as exc:
            self.fake.errors.append(f"{method} {url.path}: {exc}")
            status, payload = 400, {"error": str(exc), "code": 3}
        self._send(status, payload)

    def _route(
        self, method: str, path: str, query: dict[str, list[str]], body: bytes
    ) -> tuple[int, Any]:
        fake = self.fake
        if (method, path) == ("GET", "healthz"):
            return 200, {"multi_user": fake.multi_user}
        if (method, path) == ("GET", "pipelines"):
            name = _filter_value(query, "display_name")
            namespace = self._namespace(query)
            found = [
                p
                for p in fake.pipelines.values()
                if name in (None, p["display_name"]) and self._scope(p) == namespace
            ]
            return 200, {"pipelines": found, "total_size": len(found)} if found else {}
        if (method, path) == ("POST", "pipelines/upload"):
            spec = _upload(self, body)
            name = query["name"][0]
            namespace = self._namespace(query)
            if any(
                (p["display_name"], self._scope(p)) == (name, namespace)
                for p in fake.pipelines.values()
            ):
                where = f"namespace {namespace!r}" if namespace else "the shared pipelines"
                raise Conflict(
                    f"Failed to create a new pipeline. A pipeline named {name} already "
                    f"exists in {where}: AlreadyExists"
                )
            pipeline_id = fake.new_id("pipeline")
            fake.pipelines[pipeline_id] = {
                "pipeline_id": pipeline_id,
                "display_name": name,
                "namespace": query.get("namespace", [""])[0],
                "description": query.get("description", [""])[0],
            }
            version_id = fake.new_id("version")
            fake.versions[version_id] = {
                "pipeline_id": pipeline_id,
                "spec": spec,
                "pipeline_version_id": version_id,
                "display_name": name,
            }
            return 200, fake.pipelines[pipeline_id]
        if (method, path) == ("POST", "pipelines/upload_version"):
            spec = _upload(self, body)
            pipeline_id = query["pipelineid"][0]
            if pipeline_id not in fake.pipelines:
                raise KeyError(f"no pipeline {pipeline_id}")
            name = query["name"][0]
            if any(
                (v["pipeline_id"], v["display_name"]) == (pipeline_id, name)
                for v in fake.versions.values()
            ):
                raise Conflict(f"a version named {name} of pipeline {pipeline_id} already exists")
            version_id = fake.new_id("version")
            fake.versions[version_id] = {
                "pipeline_id": pipeline_id,
                "spec": spec,
                "pipeline_version_id": version_id,
                "display_name": query["name"][0],
            }
            return 200, {k: v for k, v in fake.versions[version_id].items() if k != "spec"}
        if method == "GET" and path.startswith("pipelines/") and path.endswith("/versions"):
            pipeline_id = path.split("/")[1]
            found = [
                {k: v for k, v in version.items() if k != "spec"}
                for version in fake.versions.values()
                if version["pipeline_id"] == pipeline_id
            ]
            return 200, {"pipeline_versions": found, "total_size": len(found)} if found else {}
        if (method, path) == ("GET", "experiments"):
            name = _filter_value(query, "display_name")
            namespace = query.get("namespace", [""])[0]
            found = [
                e
                for e in fake.experiments.values()
                if name in (None, e["display_name"]) and e.get("namespace", "") == namespace
            ]
            return 200, {"experiments": found, "total_size": len(found)} if found else {}
        if (method, path) == ("POST", "experiments"):
            experiment = decode(kfp_server_api.V2beta1Experiment, json.loads(body))
            experiment_id = fake.new_id("experiment")
            fake.experiments[experiment_id] = {
                "experiment_id": experiment_id,
                "display_name": experiment.display_name,
                "namespace": experiment.namespace or "",
            }
            return 200, fake.experiments[experiment_id]
        if (method, path) == ("POST", "runs"):
            run = decode(kfp_server_api.V2beta1Run, json.loads(body))
            reference = run.pipeline_version_reference
            if reference.pipeline_version_id not in fake.versions:
                raise KeyError(f"no pipeline version {reference.pipeline_version_id}")
            if run.experiment_id not in fake.experiments:
                raise KeyError(f"no experiment {run.experiment_id}")
            run_id = fake.new_id("run")
            fake.runs[run_id] = {"run": run, "state": "RUNNING", "created_at": _now()}
            if fake.executor is not None:
                spec = fake.versions[reference.pipeline_version_id]["spec"]
                fake.executor.start(run_id, spec, dict(run.runtime_config.parameters or {}))
            return 200, {
                "run_id": run_id,
                "display_name": run.display_name,
                "state": "PENDING",
                "experiment_id": run.experiment_id,
            }
        if method == "POST" and path.startswith("runs/") and path.endswith(":terminate"):
            run_id = path[len("runs/") : -len(":terminate")]
            if run_id not in fake.runs:
                raise KeyError(f"no run {run_id}")
            if fake.executor is not None:
                fake.executor.terminate(run_id)
            else:
                fake.runs[run_id]["state"] = "CANCELED"
            return 200, {}
        if method == "DELETE" and path.startswith("runs/"):
            fake.runs.pop(path.split("/", 1)[1])
            return 200, {}
        if method == "DELETE" and path.startswith("pipelines/") and "/versions/" in path:
            version = fake.versions.pop(path.rsplit("/", 1)[1])
            if version["pipeline_id"] != path.split("/")[1]:
                raise KeyError(f"{path}: the version belongs to {version['pipeline_id']}")
            return 200, {}
        if method == "GET" and path.startswith("runs/"):
            return 200, self._run(path.split("/", 1)[1])
        raise KeyError(f"the fake KFP does not serve {method} {path}")

    def _namespace(self, query: dict[str, list[str]]) -> str:
        """The namespace a pipeline request is about ("" for shared, and in single-user mode)."""
        return query.get("namespace", [""])[0] if self.fake.multi_user else ""

    def _scope(self, pipeline: dict[str, Any]) -> str:
        """The namespace a stored pipeline is found in (all are shared in single-user mode)."""
        return pipeline["namespace"] if self.fake.multi_user else ""

    def _run(self, run_id: str) -> dict[str, Any]:
        """GetRun's answer: the run's state and, when it is executed here, its tasks'."""
        entry = self.fake.runs[run_id]
        run = entry["run"]
        answer: dict[str, Any] = {
            "run_id": run_id,
            "display_name": run.display_name,
            "experiment_id": run.experiment_id,
            "pipeline_version_reference": {
                "pipeline_id": run.pipeline_version_reference.pipeline_id,
                "pipeline_version_id": run.pipeline_version_reference.pipeline_version_id,
            },
            "runtime_config": {"parameters": run.runtime_config.parameters or {}},
            "created_at": entry["created_at"],
            "state": entry["state"],
        }
        if self.fake.executor is not None:
            report = self.fake.executor.report(run_id)
            answer["state"] = report["state"]
            answer["run_details"] = {"task_details": report["tasks"]}
            if report.get("finished_at"):
                answer["finished_at"] = report["finished_at"]
            if report.get("error"):
                answer["error"] = {"code": 2, "message": report["error"]}
        return answer

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._handle("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._handle("POST")

    def do_DELETE(self) -> None:  # noqa: N802
        self._handle("DELETE")


class KfpServer:
    """Runs a FakeKfp on 127.0.0.1 in a thread."""

    def __init__(self, multi_user: bool = False, executor: Any = None) -> None:
        self.fake = FakeKfp(multi_user=multi_user, executor=executor)
        handler = type("Handler", (_Handler,), {"fake": self.fake})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> KfpServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
