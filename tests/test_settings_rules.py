"""Settings that cannot be silently mistyped (issue 11, section 3)."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.errors import InputError
from helpers.paths import project_root
from helpers.settings import (
    OTHER_VARIABLES,
    SETTING_NAMES,
    TRUE_WORDS,
    load,
    reference_table,
)

#: A WALKTHROUGH_* name as the project writes it (not a family like WALKTHROUGH_LOCAL_*).
VARIABLE = re.compile(r"WALKTHROUGH_[A-Z0-9_]*[A-Z0-9](?![A-Z0-9_*])")


def test_an_unknown_walkthrough_variable_stops_with_a_did_you_mean() -> None:
    with pytest.raises(InputError) as err:
        load(env={"WALKTHROUGH_CLASES": '["Cheetah", "Tiger"]'})
    assert err.value.setting == "WALKTHROUGH_CLASES"
    assert "did you mean WALKTHROUGH_CLASSES?" in str(err.value)


def test_variables_that_are_not_settings_are_allowed() -> None:
    env = {name: "x" for name in OTHER_VARIABLES if name != "WALKTHROUGH_SETTINGS_FILE"}
    assert load(env=env).mode == "local"


def test_every_walkthrough_variable_the_project_reads_is_a_setting_or_listed() -> None:
    """The allow-list is the one place: grep the project for every WALKTHROUGH_* name it uses."""
    root = project_root()
    used: set[str] = set()
    for folder in ("helpers", "tests", "benchmarks", "notebooks"):
        for path in (root / folder).rglob("*"):
            if path.suffix in (".py", ".ipynb", ".md") and path.is_file():
                used |= set(VARIABLE.findall(path.read_text()))
    for path in (root / "Makefile", root / "README.md"):
        used |= set(VARIABLE.findall(path.read_text()))
    known = {f"WALKTHROUGH_{n.upper()}" for n in SETTING_NAMES} | set(OTHER_VARIABLES)
    known |= {  # misspelt on purpose, in tests
        "WALKTHROUGH_CLASES",
        "WALKTHROUGH_GROUND_TRUTH_TASK_AVAILIBILITY",
        "WALKTHROUGH_LOCAL_UNKNOWN",
    }
    assert sorted(used - known) == []


def test_the_local_aws_knobs_listed_are_exactly_its_config() -> None:
    """Settings let through the local AWS's own variables, and only those."""
    import dataclasses

    from helpers.local.config import LocalConfig, variable

    listed = {v for v in OTHER_VARIABLES if v.startswith("WALKTHROUGH_LOCAL_")}
    assert listed == {variable(f.name) for f in dataclasses.fields(LocalConfig)}


def test_an_unknown_key_in_the_settings_file_gets_a_did_you_mean(tmp_path: Path) -> None:
    file = tmp_path / "settings.json"
    file.write_text(json.dumps({"buckt": "my-bucket"}))
    with pytest.raises(InputError) as err:
        load(env={}, settings_file=file)
    assert "did you mean bucket?" in str(err.value)


@pytest.mark.parametrize("source", ["parameter", "environment", "file"])
@pytest.mark.parametrize(
    "name", ["ground_truth_task_availability", "ground_truth_task_availibility"]
)
def test_task_availability_is_spelled_right_and_takes_the_upstream_spelling(
    tmp_path: Path, source: str, name: str
) -> None:
    file = tmp_path / "settings.json"
    file.write_text(json.dumps({name: 3600} if source == "file" else {}))
    env = {f"WALKTHROUGH_{name.upper()}": "3600"} if source == "environment" else {}
    params = {name: 3600} if source == "parameter" else {}
    settings = load(params, env=env, settings_file=file)
    assert settings.ground_truth_task_availability == 3600
    assert settings.origin("ground_truth_task_availability") != "default"


PREFIX_MAX = 512

BAD_VALUES = [
    ("prefix", "data/../other", "'.' or '..' segments"),
    ("prefix", "./data", "'.' or '..' segments"),
    ("prefix", "data/./x", "'.' or '..' segments"),
    ("prefix", "data\nx", "control"),
    ("prefix", "data\x00x", "control"),
    ("prefix", "data\x85x", "control"),  # a C1 control character
    ("prefix", "data\u202ecod.exe", "bidirectional"),
    ("prefix", "p" * (PREFIX_MAX + 1), "at most 512 bytes"),
    ("prefix", "é" * (PREFIX_MAX // 2 + 1), "at most 512 bytes"),  # bytes, not characters
    ("seed", -1, "between 0 and 4294967295"),
    ("seed", 2**32, "between 0 and 4294967295"),
    ("team_description", "d" * 201, "1 to 200 characters"),
    ("ground_truth_title", "t" * 129, "1 to 128 characters"),
    ("ground_truth_description", "d" * 256, "1 to 255 characters"),
    ("kfp_host", "file:///etc/passwd", "http:// or https:// URL"),
    ("kfp_host", "localhost:8080", "http:// or https:// URL"),
    ("kfp_host", "http://", "http:// or https:// URL"),
]


@pytest.mark.parametrize(
    ("name", "value", "rule"), BAD_VALUES, ids=[f"{n}={v!r:.20}" for n, v, _ in BAD_VALUES]
)
def test_values_that_would_fail_later_are_refused_at_load(
    name: str, value: object, rule: str
) -> None:
    with pytest.raises(InputError) as err:
        load({name: value}, env={})
    assert err.value.setting == name
    assert rule in str(err.value) and err.value.fix


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("prefix", "p" * PREFIX_MAX),
        ("prefix", "a.b/..c/d..e"),
        ("seed", 0),
        ("seed", 2**32 - 1),
        ("team_description", "d" * 200),
        ("ground_truth_title", "t" * 128),
        ("kfp_host", "https://kubeflow.example.com/pipeline"),
        ("kfp_host", "http://127.0.0.1:8080"),
    ],
)
def test_values_at_the_limits_are_accepted(name: str, value: object) -> None:
    assert getattr(load({name: value}, env={}), name) == value


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(w, True) for w in (*TRUE_WORDS, "TRUE", "Yes", "ON")]
    + [(w, False) for w in ("false", "no", "off", "0", "FALSE", "No", "Off")],
)
def test_every_boolean_takes_the_usual_spellings_from_every_source(
    tmp_path: Path, raw: str, expected: bool
) -> None:
    file = tmp_path / "settings.json"
    file.write_text(json.dumps({"new_run": raw}))
    from_env = load(env={"WALKTHROUGH_CONFIRM_DELETE": raw, "WALKTHROUGH_CONFIRM_SUBMIT": raw})
    assert from_env.confirm_delete is expected and from_env.confirm_submit is expected
    assert load(env={}, settings_file=file).new_run is expected
    assert load({"create_missing": raw}, env={}).create_missing is expected


def test_a_word_that_is_not_a_boolean_is_refused() -> None:
    with pytest.raises(InputError) as err:
        load(env={"WALKTHROUGH_CONFIRM_DELETE": "maybe"})
    assert err.value.setting == "confirm_delete" and "yes" in str(err.value)


def test_the_cli_prints_a_source_for_every_setting(tmp_path: Path) -> None:
    (tmp_path / "s.json").write_text(json.dumps({"seed": 7}))
    env = {
        "PATH": "/usr/bin:/bin",
        "WALKTHROUGH_SETTINGS_FILE": str(tmp_path / "s.json"),
        "WALKTHROUGH_BUCKET": "from-env",
    }
    out = subprocess.run(
        [sys.executable, "-m", "helpers.settings"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    sources = json.loads(out.stdout)["sources"]
    assert set(sources) == set(SETTING_NAMES)
    assert sources["seed"] == "file s.json"
    assert sources["bucket"] == "environment"
    assert sources["mode"] == "default"


def test_the_readme_table_is_the_settings_definition() -> None:
    readme = (project_root() / "README.md").read_text()
    start, end = "<!-- settings-table:start -->\n", "<!-- settings-table:end -->"
    table = readme[readme.index(start) + len(start) : readme.index(end)]
    assert table == reference_table(), "run `python -m helpers.settings --table` into README.md"
    for name in SETTING_NAMES:
        assert f"| `{name}` | `WALKTHROUGH_{name.upper()}` |" in table


def test_a_class_the_local_image_set_lacks_names_the_five_it_has() -> None:
    """Local mode: ["Dog", "Cat"] is not blamed on images_per_class."""
    import pandas as pd

    from helpers import dataset
    from helpers.local.openimages import mirror

    # the local mirror's own files: real class names for every class, pictures of five
    images = mirror.plan(images_per_class=5)
    annotations = pd.read_csv(io.StringIO(mirror.annotations_csv(images)))
    descriptions = pd.read_csv(
        io.StringIO(mirror.class_descriptions_csv()), header=None, names=["mid", "name"]
    )
    assert {"Dog", "Cat"} <= set(descriptions["name"])  # real classes with no pictures drawn
    settings = load({"classes": ["Dog", "Cat"]}, env={})
    with pytest.raises(InputError) as err:
        dataset.choose_images(settings, None, (annotations, descriptions))
    assert err.value.setting == "classes"
    message = str(err.value)
    assert "local (generated) image set" in message
    assert all(name in message for name in mirror.CLASSES)
    assert "source" in err.value.fix and "aws mode" in err.value.fix
    fine = load({"classes": ["Tiger", "Snowman"], "images_per_class": 2}, env={})
    assert len(dataset.choose_images(fine, None, (annotations, descriptions))) == 4
