"""A loopback stand-in for the KFP v2beta1 API, strict about what it accepts.

Request bodies are decoded with kfp-server-api's own models and refused when they carry a field
the model does not have; uploads must be compiled pipeline specs. Everything the client sent
is kept for the test to assert on.
"""

from __future__ import annotations

import email.parser
import itertools
import json
import threading
from dataclasses import dataclass, field
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
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    def new_id(self, kind: str) -> str:
        """A fresh id for a created object."""
        return f"{kind}-{next(self._ids)}"


def _filter_value(query: dict[str, list[str]], key: str) -> str | None:
    raw = query.get("filter", [""])[0]
    if not raw:
        return None
    for predicate in json.loads(raw).get("predicates", []):
        if predicate.get("key") == key:
            return predicate.get("stringValue") or predicate.get("string_value")
    return None


def _upload(handler: BaseHTTPRequestHandler, body: bytes) -> dict[str, Any]:
    header = f"Content-Type: {handler.headers['Content-Type']}\r\n\r\n".encode()
    message = email.parser.BytesParser().parsebytes(header + body)
    for part in message.get_payload():
        if part.get_param("name", header="content-disposition") == "uploadfile":
            spec = yaml.safe_load(part.get_payload(decode=True))
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
            found = [p for p in fake.pipelines.values() if name in (None, p["display_name"])]
            return 200, {"pipelines": found, "total_size": len(found)} if found else {}
        if (method, path) == ("POST", "pipelines/upload"):
            spec = _upload(self, body)
            pipeline_id = fake.new_id("pipeline")
            name = query["name"][0]
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
            version_id = fake.new_id("version")
            fake.versions[version_id] = {
                "pipeline_id": pipeline_id,
                "spec": spec,
                "pipeline_version_id": version_id,
                "display_name": query["name"][0],
            }
            return 200, {k: v for k, v in fake.versions[version_id].items() if k != "spec"}
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
            fake.runs[run_id] = {"run": run, "state": "RUNNING"}
            return 200, {
                "run_id": run_id,
                "display_name": run.display_name,
                "state": "PENDING",
                "experiment_id": run.experiment_id,
            }
        if method == "GET" and path.startswith("runs/"):
            run_id = path.split("/", 1)[1]
            return 200, {"run_id": run_id, "state": fake.runs[run_id]["state"]}
        raise KeyError(f"the fake KFP does not serve {method} {path}")

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._handle("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._handle("POST")


class KfpServer:
    """Runs a FakeKfp on 127.0.0.1 in a thread."""

    def __init__(self) -> None:
        self.fake = FakeKfp()
        handler = type("Handler", (_Handler,), {"fake": self.fake})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> KfpServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
