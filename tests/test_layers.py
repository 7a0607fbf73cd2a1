"""The layers hold, read from every module's imports (function-level ones too), not by convention.

Settings and the layout at the bottom; AWS access (`aws`, `awserrors`, `tags`); the walkthrough's
steps; the notebooks on top. The local AWS stands beside them behind one door, `aws.connect`.
"""

from __future__ import annotations

import ast
from pathlib import Path

from helpers.paths import project_root

HELPERS = project_root() / "helpers"
#: Modules outside the local AWS that may import it, and why.
LOCAL_DOORS = {
    "helpers.aws": "the one door: connect() starts or reaches the local AWS in local mode",
    "helpers.demo": "`make demo` starts the local AWS before the notebooks and stops it after",
    "helpers.lab": "`make lab` starts the local AWS for JupyterLab and stops it if it started it",
}
#: Pure modules of the local AWS (no AWS, no server) that the Label Studio labeling step shares, so
#: that its output is consolidated and laid out exactly as the local Ground Truth's.
LOCAL_SHARED = {
    "helpers.local.standins.dawid_skene": "Ground Truth's answer consolidation (Dawid-Skene)",
    "helpers.local.sagemaker.output_layout": "where a labeling job's output files go",
}
#: What the local AWS may import of the walkthrough: words both sides must agree on.
LOCAL_MAY_USE = {
    "helpers.errors": "the error types a notebook shows (LocalAwsError, InputError)",
    "helpers.paths": "where the project keeps its cache and state",
    "helpers.settings": "the local account id and the GPU instance families, spelled once",
    "helpers.regions": "the regions' built-in image and Lambda ARNs, spelled once",
    "helpers.labelstudio": "the local Label Studio's simulated annotators use its API client",
    "helpers.labelstudio.api": "the local Label Studio's simulated annotators use its API client",
    "helpers.labelstudio.accounts": "a labeler's Label Studio account (e-mail), spelled once",
}
#: Setup checks, provisioning and clean-up are siblings: none imports another...
SIBLINGS = ("helpers.checks", "helpers.provision", "helpers.cleanup")
#: ...except the checks' command line, which offers `--create-missing` (provisioning) too.
SIBLING_ENTRY_POINTS = {"helpers.checks.__main__": "helpers.provision"}
#: The bottom layer imports nothing of the walkthrough above it.
BOTTOM = {
    "helpers.layout": set(),
    "helpers.tags": set(),
    "helpers.errors": set(),
    "helpers.awserrors": set(),
    "helpers.paths": {"helpers.errors"},
    "helpers.settings": {"helpers.errors", "helpers.layout", "helpers.paths"},
}

#: The two lower layers of the README's picture: they import nothing of the steps above them.
LOWER = {
    *BOTTOM,
    *("helpers.names", "helpers.regions"),
    *("helpers.aws", "helpers.s3", "helpers.policies", "helpers.cognito", "helpers.gt_access"),
}


def module_name(path: Path) -> str:
    parts = path.relative_to(project_root()).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """The helpers modules a file imports, anywhere in it (function-level imports too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("helpers")}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("helpers"):
            module = str(node.module)
            found.add(module)
            for alias in node.names:  # `from helpers import x`: x is a module when it has a file
                child = project_root().joinpath(*module.split("."), alias.name)
                if child.with_suffix(".py").exists() or child.is_dir():
                    found.add(f"{module}.{alias.name}")
    return found


def graph() -> dict[str, set[str]]:
    return {module_name(p): imports(p) for p in HELPERS.rglob("*.py")}


def within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def test_the_graph_is_read_from_the_code() -> None:
    edges = graph()
    assert "helpers.local" in edges["helpers.aws"]
    assert "helpers.checks.model" in edges["helpers.checks.roles"]


def test_only_aws_connect_the_demo_and_the_lab_reach_the_local_aws() -> None:
    reaching = {
        module
        for module, used in graph().items()
        if not within(module, "helpers.local")
        and any(within(u, "helpers.local") and u not in LOCAL_SHARED for u in used)
    }
    assert reaching <= set(LOCAL_DOORS), reaching - set(LOCAL_DOORS)


def test_the_local_aws_imports_of_the_walkthrough_only_the_shared_words() -> None:
    wrong = {
        (module, used)
        for module, imported in graph().items()
        if within(module, "helpers.local")
        for used in imported
        if used != "helpers" and not within(used, "helpers.local") and used not in LOCAL_MAY_USE
    }
    assert not wrong, sorted(wrong)


def test_checks_provisioning_and_clean_up_do_not_import_one_another() -> None:
    wrong = {
        (module, used)
        for module, imported in graph().items()
        for used in imported
        for mine in SIBLINGS
        for other in SIBLINGS
        if mine != other
        and within(module, mine)
        and within(used, other)
        and SIBLING_ENTRY_POINTS.get(module) != used
    }
    assert not wrong, sorted(wrong)


def test_the_bottom_layer_stands_on_nothing_above_it() -> None:
    edges = graph()
    for module, allowed in BOTTOM.items():
        used = {u for u in edges[module] if u != "helpers"}
        assert used <= allowed, (module, used - allowed)


def test_settings_layout_and_aws_access_import_none_of_the_steps() -> None:
    wrong = {
        (module, used)
        for module, imported in graph().items()
        if module in LOWER
        for used in imported
        if used != "helpers" and used not in LOWER and not within(used, "helpers.local")
    }
    assert not wrong, sorted(wrong)
