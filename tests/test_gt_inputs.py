"""The Ground Truth input files: manifests, label configuration, worker template, upload."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import liquid
import pytest
from moto import mock_aws

from helpers import gt_inputs
from helpers.errors import InputError

EXAMPLES = {
    "Musical instrument": "s3://bucket/demo/images/aaa.jpg",
    "Fruit & <Veg>": "s3://bucket/demo/images/bbb.jpg",
}


def render(template: str, labels: list[str]) -> str:
    """Fill the template in as Ground Truth would (presigning faked as https://signed/...)."""
    env = liquid.Environment(autoescape=True)
    env.filters["grant_read_access"] = lambda uri: "https://signed/" + str(uri)[5:] + "?a=1&b=2"
    env.filters["to_json"] = json.dumps
    task = {"input": {"taskObject": "s3://bucket/demo/images/task.jpg", "labels": labels}}
    return env.from_string(template).render(task=task)


# --- manifest -------------------------------------------------------------------------------------


def test_manifest_has_one_json_line_per_uri() -> None:
    """Each line is a JSON object with the image's source-ref, in order."""
    uris = ["s3://b/p/images/1.jpg", 's3://b/p/images/odd "name".jpg']
    text = gt_inputs.manifest(uris)
    assert text.endswith("\n")
    assert [json.loads(line) for line in text.splitlines()] == [{"source-ref": u} for u in uris]


def test_manifest_rejects_non_s3_uri() -> None:
    """Ground Truth reads objects from S3 only."""
    with pytest.raises(InputError, match="s3://"):
        gt_inputs.manifest(["https://example.com/a.jpg"])


def test_manifest_round_trips_through_parse() -> None:
    """parse_manifest reads back what manifest wrote."""
    uris = [f"s3://b/p/images/{i}.jpg" for i in range(3)]
    assert [r["source-ref"] for r in gt_inputs.parse_manifest(gt_inputs.manifest(uris))] == uris


def test_parse_manifest_skips_blank_lines_and_keeps_extra_keys() -> None:
    """Blank lines are ignored; other keys (e.g. labels from a job) are kept."""
    text = '{"source-ref": "s3://b/1.jpg", "label": 0}\n\n{"source-ref": "s3://b/2.jpg"}\n'
    assert gt_inputs.parse_manifest(text) == [
        {"source-ref": "s3://b/1.jpg", "label": 0},
        {"source-ref": "s3://b/2.jpg"},
    ]


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ('{"source-ref": "s3://b/1.jpg"}\n{"source-ref": "s3://b/2.jpg"\n', 2),
        ('{"source-ref": "s3://b/1.jpg"}\n\n{"source": "s3://b/2.jpg"}\n', 3),
        ('["s3://b/1.jpg"]\n', 1),
        ('{"source-ref": "s3://b/1.jpg"}\n{"source-ref": "images/2.jpg"}\n', 2),
        ('{"source-ref": "s3://b/"}\n', 1),
    ],
)
def test_parse_manifest_names_the_bad_line(text: str, line: int) -> None:
    """A malformed line or one without source-ref is an error naming its line number."""
    with pytest.raises(InputError, match=f"line {line} ") as caught:
        gt_inputs.parse_manifest(text)
    assert caught.value.setting == "manifest"


# --- label configuration --------------------------------------------------------------------------


def test_label_config_keeps_class_order() -> None:
    """The labels appear in the given order, which is the class index."""
    config = gt_inputs.label_config(["Musical instrument", "Fruit"])
    assert config == {
        "document-version": "2018-11-28",
        "labels": [{"label": "Musical instrument"}, {"label": "Fruit"}],
    }
    assert json.loads(json.dumps(config)) == config


@pytest.mark.parametrize("labels", [["Fruit"], [], ["Fruit", "fruit"], ["Fruit", " "]])
def test_label_config_rejects_too_few_or_repeated(labels: list[str]) -> None:
    """Fewer than two labels, repeats (ignoring case) and blanks are errors on `classes`."""
    with pytest.raises(InputError) as caught:
        gt_inputs.label_config(labels)
    assert caught.value.setting == "classes"


def test_parse_label_config_reads_back_label_config() -> None:
    """The labels come back in their order (the class index)."""
    text = json.dumps(gt_inputs.label_config(["Tiger", "Fruit"]))
    assert gt_inputs.parse_label_config(text) == ["Tiger", "Fruit"]


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ('{"labels": [{"label": "Fruit"}]}', "at least 2 labels"),
        ('{"labels": [{"label": "Fruit"}, {"label": "fruit"}]}', "distinct"),
        ('{"labels": [{"label": "Fruit"}, {"label": 2}]}', "must be a string"),
        ('{"labels": ["Fruit", "Tiger"]}', "must be a JSON object"),
        ("Fruit, Tiger", "must be a JSON object"),
    ],
)
def test_parse_label_config_names_the_file(text: str, rule: str) -> None:
    """A bad label configuration is an error on the file, with notebook 01 as the fix."""
    with pytest.raises(InputError, match=rule) as caught:
        gt_inputs.parse_label_config(text, "s3://b/p/class_labels.json")
    assert caught.value.setting == "s3://b/p/class_labels.json"
    assert "notebook 01" in caught.value.fix


def test_require_labels_wants_the_classes_in_their_order() -> None:
    """Staged labels other than the settings' classes, or in another order, are an error."""
    gt_inputs.require_labels(["A", "B"], ("A", "B"), "class_labels.json")
    with pytest.raises(InputError, match="the order gives the class index") as caught:
        gt_inputs.require_labels(["B", "A"], ("A", "B"), "class_labels.json")
    assert "classes=['A', 'B']" in caught.value.fix


# --- worker template ------------------------------------------------------------------------------


def test_has_classifier_finds_the_element_not_the_word() -> None:
    """The built template has the classifier; a page that only names it has not."""
    assert gt_inputs.has_classifier(gt_inputs.ui_template({}))
    assert not gt_inputs.has_classifier("<crowd-form><p>crowd-image-classifier</p></crowd-form>")


def test_template_has_the_classifier_wiring() -> None:
    """The template loads crowd elements and wires the task object and labels."""
    template = gt_inputs.ui_template(EXAMPLES)
    assert '<script src="https://assets.crowd.aws/crowd-html-elements.js"></script>' in template
    assert "<crowd-form>" in template and "</crowd-form>" in template
    assert 'name="crowd-image-classifier"' in template
    assert 'src="{{ task.input.taskObject | grant_read_access }}"' in template
    assert 'categories="{{ task.input.labels | to_json | escape }}"' in template
    assert "<full-instructions header=" in template
    assert "<short-instructions>" in template


def test_template_shows_one_example_per_class() -> None:
    """Each class has its example image (granted read access) and escaped caption."""
    template = gt_inputs.ui_template(EXAMPLES)
    for uri in EXAMPLES.values():
        assert f'{{{{ "{uri}" | grant_read_access }}}}' in template
    assert "<figcaption>Musical instrument</figcaption>" in template
    assert "<figcaption>Fruit &amp; &lt;Veg&gt;</figcaption>" in template
    assert "<Veg>" not in template


def test_template_renders_like_ground_truth() -> None:
    """Rendered with Liquid, the page has signed image links and the labels as JSON."""
    labels = ["Musical instrument", "Fruit & <Veg>"]
    page = render(gt_inputs.ui_template(EXAMPLES, header='Pick "one"'), labels)
    from helpers.worker_ui import task_parts

    parts = task_parts(page)
    assert parts["categories"] == labels
    assert parts["src"] == "https://signed/bucket/demo/images/task.jpg?a=1&b=2"
    assert parts["header"] == 'Pick "one"'
    assert "https://signed/bucket/demo/images/aaa.jpg" in parts["short_instructions"]
    assert "https://signed/bucket/demo/images/bbb.jpg" in parts["full_instructions"]


def test_template_text_cannot_inject_liquid() -> None:
    """A class name with Liquid braces is shown literally, not evaluated."""
    page = render(gt_inputs.ui_template({"{{ task }}": "s3://b/x.jpg"}), ["a", "b"])
    assert "&#123;&#123; task &#125;&#125;" in page


def test_template_without_examples() -> None:
    """Own-image sources have no per-class examples; the template still works."""
    page = render(gt_inputs.ui_template({}), ["a", "b"])
    assert "<short-instructions>" in page and "<figure" not in page


def test_template_rejects_unsafe_example_uri() -> None:
    """An example URI that would break the Liquid string is refused."""
    with pytest.raises(InputError):
        gt_inputs.ui_template({"Fruit": 's3://b/a".jpg'})


# --- upload ---------------------------------------------------------------------------------------


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """An in-process moto S3 with one bucket."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="bucket")
        yield client


def test_upload_inputs_writes_each_file_and_nothing_else(s3: Any) -> None:
    """Files land at <prefix>/<name>; existing objects under the prefix are left alone."""
    s3.put_object(Bucket="bucket", Key="demo/images/a.jpg", Body=b"jpeg")
    files: dict[str, str | bytes] = {
        "train.manifest": gt_inputs.manifest(["s3://bucket/demo/images/a.jpg"]),
        "validation.manifest": b'{"source-ref": "s3://bucket/demo/images/b.jpg"}\n',
        "class_labels.json": json.dumps(gt_inputs.label_config(["A", "B"])),
        "instructions.template": gt_inputs.ui_template({}),
    }
    uris = gt_inputs.upload_inputs(s3, "bucket", "demo", files)
    assert uris == {name: f"s3://bucket/demo/{name}" for name in files}
    for name, content in files.items():
        body = s3.get_object(Bucket="bucket", Key=f"demo/{name}")["Body"].read()
        assert body == (content.encode() if isinstance(content, str) else content)
    again = gt_inputs.upload_inputs(s3, "bucket", "demo", files)
    assert again == uris
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket="bucket")["Contents"]}
    assert keys == {f"demo/{name}" for name in files} | {"demo/images/a.jpg"}


def test_example_images_are_in_neither_manifest() -> None:
    """Workers' instructions show one example per class, never an image they will label."""
    import io
    import re

    import pandas as pd

    from helpers import dataset
    from helpers.local.openimages import mirror
    from helpers.settings import load

    images = mirror.plan(images_per_class=12)
    annotations = pd.read_csv(io.StringIO(mirror.annotations_csv(images)))
    descriptions = pd.read_csv(
        io.StringIO(mirror.class_descriptions_csv()), header=None, names=["mid", "name"]
    )
    settings = load({"images_per_class": 10}, env={})
    open_images = (annotations, descriptions)
    chosen = dataset.choose_images(settings, None, open_images)
    examples = dataset.choose_examples(settings, open_images, chosen)
    files = dataset.input_files(settings, chosen, examples)
    shown = re.findall(
        r'\{\{ "(s3://[^"]+)" \| grant_read_access \}\}', files["instructions.template"]
    )
    manifests = files["train.manifest"] + files["validation.manifest"]
    assert len(set(shown)) == len(settings.classes)  # one example per class
    assert list(examples["class_name"]) == list(settings.classes)
    assert not [uri for uri in shown if uri in manifests]
    # the example pictures its class, by the annotations
    truth = annotations.groupby("ImageID")["LabelName"].agg(set)
    assert all(row.mid in truth[row.image_id] for row in examples.itertuples())
    # the summary counts the objects per class and split, and names each class's example
    summary = dataset.objects_summary(chosen, examples)
    assert summary.loc["all classes", "total"] == len(chosen)
    assert list(summary.index[:-1]) == list(settings.classes)


def test_without_spare_images_a_class_gets_no_example() -> None:
    """When every eligible image is to be labeled, the class shows no example (not a task)."""
    import pandas as pd

    from helpers import dataset
    from helpers.settings import load

    settings = load({"classes": ["Tiger", "Cheetah"]}, env={})
    chosen = pd.DataFrame(
        {
            "image_id": ["a", "b", "c", "d"],
            "class_name": ["Tiger", "Tiger", "Cheetah", "Cheetah"],
            "split": ["train", "validation"] * 2,
            "uri": [f"s3://b/p/images/{i}.jpg" for i in "abcd"],
        }
    )
    examples = pd.DataFrame(
        {"image_id": ["a"], "class_name": ["Tiger"], "uri": ["s3://b/p/images/a.jpg"]}
    )
    template = dataset.input_files(settings, chosen, examples)["instructions.template"]
    assert "s3://b/p/images/" not in template and "One example of each class" not in template


def test_every_object_written_is_exported_with_the_examples(tmp_path: Any) -> None:
    """Notebook 01 shows a summary; the full list (tasks and examples) goes to objects.csv."""
    import pandas as pd

    from helpers import dataset

    chosen = pd.DataFrame(
        {
            "image_id": ["a", "b"],
            "class_name": ["Tiger", "Tiger"],
            "split": ["train", "validation"],
            "uri": ["s3://b/p/images/a.jpg", "s3://b/p/images/b.jpg"],
        }
    )
    examples = pd.DataFrame(
        {"image_id": ["c"], "class_name": ["Tiger"], "uri": ["s3://b/p/images/c.jpg"]}
    )
    written = pd.read_csv(dataset.export_objects(tmp_path, chosen, examples))
    assert written["split"].tolist() == ["train", "validation", "example"]
    assert written["role"].tolist()[-1] == "instructions example"
    own = pd.read_csv(dataset.export_objects(tmp_path, chosen, examples.iloc[:0]))
    assert len(own) == 2
