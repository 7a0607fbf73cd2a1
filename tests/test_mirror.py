"""Tests for the generated local Open Images mirror (offline; upload runs against moto)."""

from __future__ import annotations

import csv
import hashlib
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import boto3
import pytest
from moto import mock_aws
from PIL import Image

from helpers.errors import InputError
from helpers.local.openimages import mirror

ROOT = Path(__file__).resolve().parents[1]
HEX16 = re.compile(r"^[0-9a-f]{16}$")
FIVE = set(mirror.CLASSES.values())


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the default mirror once for the whole module."""
    return mirror.build(tmp_path_factory.mktemp("mirror") / "oi")


@pytest.fixture(scope="module")
def rows(built: Path) -> list[list[str]]:
    """Read the annotations file, header line included."""
    with open(built / mirror.ANNOTATIONS_FILE, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def _positives(rows: list[list[str]]) -> dict[str, set[str]]:
    """Return ImageID -> the drawn classes it is positive for."""
    out: dict[str, set[str]] = {}
    for image_id, _, mid, conf in rows[1:]:
        if conf == "1" and mid in FIVE:
            out.setdefault(image_id, set()).add(mid)
    return out


def _tree(dest: Path) -> dict[str, bytes]:
    """Return relative path -> bytes for every file under dest."""
    return {
        str(p.relative_to(dest)): p.read_bytes() for p in sorted(dest.rglob("*")) if p.is_file()
    }


def test_layout_and_version_marker(built: Path) -> None:
    """The mirror holds 400 pictures, both CSVs and the marker, and no temp files."""
    assert (built / mirror.VERSION_FILE).is_file()
    assert (built / mirror.ANNOTATIONS_FILE).is_file()
    assert (built / mirror.CLASS_DESCRIPTIONS_FILE).is_file()
    images = list((built / mirror.IMAGES_DIR).glob("*.jpg"))
    assert len(images) == 5 * 80
    assert all(HEX16.match(p.stem) for p in images)
    assert not list(built.rglob("*.tmp"))


def test_build_is_deterministic_across_processes(tmp_path: Path) -> None:
    """Two builds (another process, other hash seed) give identical bytes."""
    a = mirror.build(tmp_path / "a", images_per_class=6)
    code = (
        "import sys; from pathlib import Path; from helpers.local.openimages import mirror; "
        "mirror.build(Path(sys.argv[1]), images_per_class=6)"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": str(ROOT)}
    subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "b")],
        check=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )
    tree_a, tree_b = _tree(a), _tree(tmp_path / "b")
    assert len(tree_a) == 5 * 6 + 3
    assert tree_a == tree_b


def test_render_is_deterministic_for_full_plan_samples(built: Path) -> None:
    """Re-rendering sampled pictures gives the stored bytes."""
    for img in mirror.plan()[::37]:
        assert mirror.render(img) == (built / "images" / f"{img.image_id}.jpg").read_bytes()


def test_counts_per_class(rows: list[list[str]]) -> None:
    """Every drawn class has at least 60 pictures, also after one-class filtering."""
    counts = Counter(mid for mids in _positives(rows).values() for mid in mids)
    assert set(counts) == FIVE
    assert all(n >= 60 for n in counts.values()), counts
    single = Counter(next(iter(m)) for m in _positives(rows).values() if len(m) == 1)
    assert all(n >= 60 for n in single.values()), single


def test_images_are_big_jpegs_and_all_distinct(built: Path) -> None:
    """Pictures are RGB JPEGs, >= 256 px on the short side, all different."""
    digests = set()
    sizes = set()
    paths = sorted((built / "images").glob("*.jpg"))
    for path in paths:
        with Image.open(path) as im:
            assert im.format == "JPEG"
            assert im.mode == "RGB"
            assert min(im.size) >= 256
            sizes.add(im.size)
        digests.add(hashlib.sha256(path.read_bytes()).hexdigest())
    assert len(digests) == len(paths)
    assert len(sizes) > 1


def test_annotations_schema(built: Path, rows: list[list[str]]) -> None:
    """The annotations file has the real header, schema and ordering."""
    text = (built / mirror.ANNOTATIONS_FILE).read_text(encoding="utf-8")
    assert text.startswith("ImageID,Source,LabelName,Confidence\n")
    assert "\r" not in text and '"' not in text
    assert rows[0] == list(mirror.ANNOTATIONS_HEADER)
    known = FIVE | set(mirror.OTHER_CLASSES.values())
    for row in rows[1:]:
        assert len(row) == 4
        image_id, source, mid, conf = row
        assert HEX16.match(image_id)
        assert source in ("verification", "crowdsource-verification")
        assert mid in known
        assert conf in ("0", "1")
    assert len({tuple(r) for r in rows[1:]}) == len(rows) - 1
    assert rows[1:] == sorted(rows[1:], key=lambda r: (r[0], r[2]))
    assert any(r[1] == "crowdsource-verification" and r[3] == "1" for r in rows[1:])
    first_fruit = [r[0] for r in rows[1:] if r[2] == "/m/02xwb" and r[3] == "1"]
    by_class = [r[2] for r in rows[1:] if r[2] in FIVE and r[3] == "1"][:40]
    assert len(set(by_class)) == 5, "rows must not be grouped by class"
    assert mirror.PERSONAL_INFO_IMAGE_ID in first_fruit[:5]


def test_every_drawn_class_row_has_a_picture(built: Path, rows: list[list[str]]) -> None:
    """Rows of the five classes point at pictures; other rows may not."""
    present = {p.stem for p in (built / "images").glob("*.jpg")}
    with_five = {r[0] for r in rows[1:] if r[2] in FIVE}
    assert with_five <= present
    assert set(_positives(rows)) == present
    others_only = {r[0] for r in rows[1:]} - present
    assert others_only, "rows for pictures of other classes (not mirrored) are expected"


def test_class_descriptions_have_no_header(built: Path) -> None:
    """The descriptions file is headerless MID,Name rows with real names."""
    text = (built / mirror.CLASS_DESCRIPTIONS_FILE).read_text(encoding="utf-8")
    assert text.startswith("/m/")
    with open(built / mirror.CLASS_DESCRIPTIONS_FILE, newline="", encoding="utf-8") as f:
        pairs = list(csv.reader(f))
    assert all(len(p) == 2 and p[0].startswith("/m/") for p in pairs)
    names = dict(pairs)
    assert len(names) == len(pairs) >= 25
    for name, mid in mirror.CLASSES.items():
        assert names[mid] == name
    assert names["/m/04szw"] == "Musical instrument"
    assert names["/m/014j1m"] == "Apple"


def test_personal_info_image_is_a_fruit_positive(built: Path, rows: list[list[str]]) -> None:
    """The ids the real walkthrough names exist with the right class."""
    assert "/m/02xwb" in _positives(rows)[mirror.PERSONAL_INFO_IMAGE_ID]
    assert (built / "images" / f"{mirror.PERSONAL_INFO_IMAGE_ID}.jpg").is_file()
    for mid, image_id in mirror.EXAMPLE_IMAGE_IDS.items():
        assert _positives(rows)[image_id] == {mid}


def test_label_mix(rows: list[list[str]]) -> None:
    """Some pictures have two drawn classes, extra labels or negatives."""
    positives = _positives(rows)
    two_drawn = [i for i, m in positives.items() if len(m) == 2]
    assert len(two_drawn) == 15
    assert not [i for i, m in positives.items() if len(m) > 2]
    per_class = Counter(mid for i in two_drawn for mid in positives[i])
    assert set(per_class) == FIVE
    negatives = [r for r in rows[1:] if r[3] == "0" and r[2] in FIVE]
    assert len(negatives) >= 50
    assert not [r for r in negatives if r[2] in positives.get(r[0], set())]
    other_mids = set(mirror.OTHER_CLASSES.values())
    extra = {r[0] for r in rows[1:] if r[3] == "1" and r[2] in other_mids} & set(positives)
    assert 0.02 * len(positives) <= len(extra) <= 0.12 * len(positives)


def test_plan_matches_the_drawing(rows: list[list[str]]) -> None:
    """The labels agree with what the plan draws."""
    positives = _positives(rows)
    for img in mirror.plan():
        expected = {img.mid} | ({img.also_mid} if img.also_mid else set())
        assert positives[img.image_id] == expected
        assert len(img.items) == len(expected)


def test_cache_hit_draws_and_rewrites_nothing(built: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Building a current mirror again draws no picture and touches no file."""
    drawn: list[str] = []
    monkeypatch.setattr(mirror, "render", lambda img: drawn.append(img.image_id) or b"")
    before = {p: p.stat().st_mtime_ns for p in built.rglob("*")}
    assert mirror.build(built) == built
    assert drawn == []
    assert {p: p.stat().st_mtime_ns for p in built.rglob("*")} == before


def test_rebuild_on_other_size_drops_stale_images(tmp_path: Path) -> None:
    """A different size rebuilds and removes pictures it no longer plans."""
    dest = tmp_path / "oi"
    mirror.build(dest, images_per_class=6)
    mirror.build(dest, images_per_class=5)
    assert len(list((dest / "images").glob("*.jpg"))) == 25
    assert '"images_per_class": 5' in (dest / mirror.VERSION_FILE).read_text(encoding="utf-8")
    (dest / "images" / f"{mirror.PERSONAL_INFO_IMAGE_ID}.jpg").unlink()
    mirror.build(dest, images_per_class=5)  # a missing picture is not a cache hit
    assert (dest / "images" / f"{mirror.PERSONAL_INFO_IMAGE_ID}.jpg").is_file()


def test_a_larger_mirror_keeps_the_pictures_of_a_smaller_one() -> None:
    """Up to 2,000 per class: the first 80 of each class are the default mirror's, ids unique."""
    default, largest = mirror.plan(), mirror.plan(mirror.MAX_IMAGES_PER_CLASS)
    assert len(largest) == 5 * 2000 == len({img.image_id for img in largest})
    by_id = {img.image_id: img for img in largest}
    assert all(by_id[img.image_id] == img for img in default)
    assert sum(img.also_mid is not None for img in largest) == 15  # the default's dual pictures


def test_growing_the_mirror_draws_only_the_new_pictures(
    built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Growing a cached mirror draws only what it lacks; a smaller one uploads only its own."""
    dest = tmp_path / "oi"
    shutil.copytree(built, dest)
    drawn: list[str] = []
    draw = mirror.render
    monkeypatch.setattr(mirror, "render", lambda img: drawn.append(img.image_id) or draw(img))
    mirror.build(dest, images_per_class=82)
    assert len(drawn) == 10
    assert len(mirror._objects(dest)) == 5 * 82 + 2
    mirror.build(dest, images_per_class=80)  # back to the default: nothing drawn, 80 uploaded
    assert len(drawn) == 10
    assert len(mirror._objects(dest)) == 5 * 80 + 2
    assert _tree(dest)[mirror.ANNOTATIONS_FILE] == _tree(built)[mirror.ANNOTATIONS_FILE]


@pytest.mark.parametrize("bad", [0, 4, -1, 2001, "80", 80.0, True, None])
def test_bad_images_per_class(tmp_path: Path, bad: object) -> None:
    """Bad sizes raise InputError before anything is written."""
    with pytest.raises(InputError, match="images_per_class"):
        mirror.build(tmp_path / "oi", images_per_class=bad)  # type: ignore[arg-type]
    assert not (tmp_path / "oi").exists()


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Point boto3 at moto with dummy credentials, whatever the developer's shell holds."""
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


def _keys(s3: object) -> set[str]:
    """Return every key in the mirror bucket."""
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=mirror.BUCKET)  # type: ignore[attr-defined]
    return {o["Key"] for page in pages for o in page.get("Contents", [])}


@pytest.mark.usefixtures("aws_env")
def test_upload_to_moto(built: Path) -> None:
    """Upload puts every object once; a second upload puts nothing."""
    image_ids = sorted(p.stem for p in (built / "images").glob("*.jpg"))
    expected = {f"test/{i}.jpg" for i in image_ids} | {
        mirror.ANNOTATIONS_KEY,
        mirror.CLASS_DESCRIPTIONS_KEY,
    }
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        assert mirror.upload(s3, built) == len(expected) == 402
        assert _keys(s3) == expected
        head = s3.head_object(Bucket=mirror.BUCKET, Key=f"test/{image_ids[0]}.jpg")
        assert head["ContentType"] == "image/jpeg"
        body = s3.get_object(Bucket=mirror.BUCKET, Key=mirror.ANNOTATIONS_KEY)["Body"].read()
        assert body == (built / mirror.ANNOTATIONS_FILE).read_bytes()
        assert (
            s3.head_object(Bucket=mirror.BUCKET, Key=mirror.CLASS_DESCRIPTIONS_KEY)["ContentType"]
            == "text/csv"
        )
        assert mirror.upload(s3, built) == 0
        s3.delete_object(Bucket=mirror.BUCKET, Key=f"test/{mirror.PERSONAL_INFO_IMAGE_ID}.jpg")
        assert mirror.upload(s3, built, max_workers=1) == 1
        assert _keys(s3) == expected


@pytest.mark.usefixtures("aws_env")
def test_upload_tolerates_an_existing_bucket(built: Path) -> None:
    """An existing bucket and existing keys are kept."""
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=mirror.BUCKET)
        s3.put_object(Bucket=mirror.BUCKET, Key=mirror.ANNOTATIONS_KEY, Body=b"kept")
        assert mirror.upload(s3, built) == 401
        body = s3.get_object(Bucket=mirror.BUCKET, Key=mirror.ANNOTATIONS_KEY)["Body"].read()
        assert body == b"kept"


@pytest.mark.usefixtures("aws_env")
def test_upload_rejects_bad_input(tmp_path: Path, built: Path) -> None:
    """Unbuilt mirrors, bad worker counts and wrong regions are refused."""
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        with pytest.raises(InputError, match="dest"):
            mirror.upload(s3, tmp_path)
        with pytest.raises(InputError, match="max_workers"):
            mirror.upload(s3, built, max_workers=0)
        west = boto3.client("s3", region_name="us-west-2")
        with pytest.raises(InputError, match="region"):
            mirror.upload(west, built)
