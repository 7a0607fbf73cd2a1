"""Extract, from botocore's service models, the operations our official-image programs call.

Run it with the Python 3.7 venv that has the official image's botocore 1.17 (`make test` makes
`.venv37` where a python3.7 exists):

    .venv37/bin/python tests/scripts/botocore117_operations.py \\
        > tests/fixtures/botocore-1.17-operations.json

The committed JSON lets the tests check the programs' boto3 calls offline, everywhere. Python 3.7
syntax: it runs under the image's Python too.
"""

import ast
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROGRAMS = [
    ROOT / "helpers" / "components" / "prepare_training.py",
    ROOT / "helpers" / "components" / "stop_run_jobs.py",
    ROOT / "helpers" / "components" / "evaluate.py",
    ROOT / "helpers" / "components" / "ground_truth_watch.py",
]


def client_calls(source):
    """The boto3 client calls in a program: (service, method, keyword names, has **kwargs)."""
    tree = ast.parse(source)
    clients = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            func = node.value.func
            if isinstance(func, ast.Attribute) and func.attr == "client" and node.value.args:
                service = node.value.args[0]
                name = getattr(service, "value", getattr(service, "s", None))
                for target in node.targets:
                    if isinstance(target, ast.Name) and isinstance(name, str):
                        clients[target.id] = name
    calls = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        owner = node.func.value
        if isinstance(owner, ast.Name) and owner.id in clients:
            keywords = sorted(k.arg for k in node.keywords if k.arg)
            spread = any(k.arg is None for k in node.keywords)
            calls.append((clients[owner.id], node.func.attr, keywords, spread))
    return calls


def main():
    """Print the operations' input members and required members as JSON."""
    import botocore
    import botocore.session
    from botocore import xform_name

    session = botocore.session.get_session()
    wanted = {}
    for path in PROGRAMS:
        for service, method, _, _ in client_calls(path.read_text()):
            wanted.setdefault(service, set()).add(method)
    found = {"botocore": botocore.__version__, "services": {}}
    for service, methods in sorted(wanted.items()):
        model = session.get_service_model(service)
        by_method = {xform_name(op): op for op in model.operation_names}
        entries = {}
        for method in sorted(methods):
            if method not in by_method:
                continue  # left out: the test reports it as unknown to this botocore
            shape = model.operation_model(by_method[method]).input_shape
            entries[method] = {
                "operation": by_method[method],
                "members": sorted(shape.members) if shape else [],
                "required": sorted(shape.required_members) if shape else [],
            }
        found["services"][service] = entries
    json.dump(found, sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
