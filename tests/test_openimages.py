"""Choosing, splitting and staging Open Images pictures (offline: loopback HTTP and moto S3)."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pandas as pd
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from helpers import dataset, openimages
from helpers.errors import InputError, WalkthroughError

INSTRUMENT, FRUIT, CHEETAH = "/m/04szw", "/m/02xwb", "/m/0cd4d"
CLASSES = {"Musical instrument": INSTRUMENT, "Fruit": FRUIT}
EXCLUDED = "02a54f6864478101"
HEADER = "ImageID,Source,LabelName,Confidence"

# Images that must be chosen when every eligible image is asked for.
EXPECTED = {
    "Musical instrument": ["a000", "a001", "a002", "a003", "a004", "a005", "cheetah_too"],
    "Fruit": ["b000", "b001", "b002", "b003", "b004", "machine_both", "twice_verified"],
}


def annotation_rows() -> list[tuple[str, str, str, int]]:
    """A few dozen rows covering every rule of the selection."""
    rows = []
    for i in range(6):
        rows.append((f"a{i:03d}", "verification", INSTRUMENT, 1))
        if i < 5:
            rows.append((f"b{i:03d}", "crowdsource-verification", FRUIT, 1))
        rows.append((f"a{i:03d}", "verification", FRUIT, 0))  # negative for the other class
        rows.append((f"c{i:03d}", "verification", CHEETAH, 1))  # a class nobody chose
    rows += [
        ("machine_only", "machine", INSTRUMENT, 1),  # not checked by a person
        ("negative_only", "verification", FRUIT, 0),  # verified absent
        ("both_classes", "verification", INSTRUMENT, 1),  # ambiguous: shows both
        ("both_classes", "crowdsource-verification", FRUIT, 1),
        (EXCLUDED, "verification", FRUIT, 1),  # personal information
        ("cheetah_too", "verification", INSTRUMENT, 1),  # other label not chosen: kept
        ("cheetah_too", "verification", CHEETAH, 1),
        ("twice_verified", "verification", FRUIT, 1),  # two sources, one class: kept once
        ("twice_verified", "crowdsource-verification", FRUIT, 1),
        ("machine_both", "verification", FRUIT, 1),  # the machine row must not make it ambiguous
        ("machine_both", "machine", INSTRUMENT, 1),
    ]
    return rows


def write_csv(path: Path, rows: list[tuple[str, str, str, int]]) -> Path:
    """Write annotation rows with the Open Images header."""
    lines = [HEADER] + [",".join(map(str, row)) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def annotations(tmp_path: Path) -> pd.DataFrame:
    """The test annotations, read through `read_annotations`."""
    return openimages.read_annotations(write_csv(tmp_path / "a.csv", annotation_rows()))


@pytest.fixture
def descriptions(tmp_path: Path) -> pd.DataFrame:
    """A header-less class descriptions file, read through `read_class_descriptions`."""
    path = tmp_path / "classes.csv"
    path.write_text(
        "/m/04szw,Musical instrument\n/m/02xwb,Fruit\n/m/0cd4d,Cheetah\n"
        '/m/07dm6,Tiger\n/m/0x1,"Ball, sports"\n/m/0x2,Apple\n',
        encoding="utf-8",
    )
    return openimages.read_class_descriptions(path)


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """An in-process moto S3 with the Open Images bucket and a destination bucket."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=openimages.OPEN_IMAGES_BUCKET)
        client.create_bucket(Bucket="dest")
        yield client


def force_small_pages(s3: Any) -> None:
    """Make ListObjectsV2 return 2 keys per page, so paging is exercised."""
    s3.meta.events.register(
        "before-parameter-build.s3.ListObjectsV2", lambda params, **_: params.update(MaxKeys=2)
    )


# --- reading --------------------------------------------------------------------------------------


def test_read_annotations_is_compact(annotations: pd.DataFrame) -> None:
    """Source and LabelName are categories and Confidence is int8 (small for 600k+ rows)."""
    assert list(annotations.columns) == ["ImageID", "Source", "LabelName", "Confidence"]
    assert isinstance(annotations["Source"].dtype, pd.CategoricalDtype)
    assert isinstance(annotations["LabelName"].dtype, pd.CategoricalDtype)
    assert annotations["Confidence"].dtype == "int8"
    assert len(annotations) == len(annotation_rows())


def test_read_annotations_rejects_other_csv(tmp_path: Path) -> None:
    """A CSV without the Open Images columns is an InputError naming what is missing."""
    path = tmp_path / "other.csv"
    path.write_text("ImageID,Label\nx,y\n", encoding="utf-8")
    with pytest.raises(InputError, match="Confidence"):
        openimages.read_annotations(path)


def test_read_class_descriptions(descriptions: pd.DataFrame) -> None:
    """The header-less file becomes mid/name columns, quoted commas included."""
    assert list(descriptions.columns) == ["mid", "name"]
    assert descriptions.iloc[0].tolist() == ["/m/04szw", "Musical instrument"]
    assert "Ball, sports" in descriptions["name"].tolist()


# --- classes --------------------------------------------------------------------------------------


def test_resolve_classes_ignores_case_and_spaces(descriptions: pd.DataFrame) -> None:
    """Names match whatever their case and surrounding spaces; keys stay as the user wrote them."""
    mids = openimages.resolve_classes([" musical INSTRUMENT ", "Fruit"], descriptions)
    assert mids == {" musical INSTRUMENT ": INSTRUMENT, "Fruit": FRUIT}
    assert list(mids) == [" musical INSTRUMENT ", "Fruit"]


def test_unknown_class_suggests_close_names(descriptions: pd.DataFrame) -> None:
    """A misspelt class raises on `classes` and proposes the real spelling."""
    with pytest.raises(InputError) as caught:
        openimages.resolve_classes(["Musical instrumnet", "Fruit"], descriptions)
    assert caught.value.setting == "classes"
    assert "'Musical instrumnet'" in str(caught.value)
    assert "did you mean 'Musical instrument'" in str(caught.value)


@pytest.mark.parametrize("names", [["Fruit", "fruit "], ["Fruit"], []])
def test_duplicate_or_too_few_classes(descriptions: pd.DataFrame, names: list[str]) -> None:
    """Duplicates (ignoring case) and fewer than 2 classes are errors on `classes`."""
    with pytest.raises(InputError) as caught:
        openimages.resolve_classes(names, descriptions)
    assert caught.value.setting == "classes"


# --- selection ------------------------------------------------------------------------------------


def test_selection_keeps_only_unambiguous_human_positives(annotations: pd.DataFrame) -> None:
    """Machine and negative rows, two-class images and the excluded image are left out."""
    chosen = openimages.select_images(annotations, CLASSES, images_per_class=7, seed=0)
    assert list(chosen.columns) == ["image_id", "class_name", "mid"]
    by_class = chosen.groupby("class_name")["image_id"].apply(list).to_dict()
    assert by_class == EXPECTED
    assert not {"machine_only", "negative_only", "both_classes", EXCLUDED} & set(chosen.image_id)
    assert chosen.set_index("image_id").loc["cheetah_too", "mid"] == INSTRUMENT


def test_selection_is_sorted_by_class_then_image(annotations: pd.DataFrame) -> None:
    """Rows come in the order the classes were given, then by image id."""
    chosen = openimages.select_images(annotations, CLASSES, images_per_class=3, seed=1)
    assert chosen["class_name"].tolist() == ["Musical instrument"] * 3 + ["Fruit"] * 3
    for _, group in chosen.groupby("class_name"):
        assert group["image_id"].tolist() == sorted(group["image_id"])


def test_selection_is_deterministic_and_ignores_row_order(annotations: pd.DataFrame) -> None:
    """The same seed picks the same images even when the file's rows come in another order."""
    first = openimages.select_images(annotations, CLASSES, images_per_class=3, seed=7)
    shuffled = annotations.sample(frac=1.0, random_state=123).reset_index(drop=True)
    again = openimages.select_images(shuffled, CLASSES, images_per_class=3, seed=7)
    pd.testing.assert_frame_equal(first, again)
    seeds = {
        tuple(openimages.select_images(annotations, CLASSES, 3, seed)["image_id"])
        for seed in range(10)
    }
    assert len(seeds) > 1, "the seed should change the sample"


def test_more_images_per_class_keeps_earlier_picks(annotations: pd.DataFrame) -> None:
    """Raising images_per_class adds images without swapping out those already chosen."""
    small = set(openimages.select_images(annotations, CLASSES, 3, seed=5)["image_id"])
    large = set(openimages.select_images(annotations, CLASSES, 5, seed=5)["image_id"])
    assert small < large


def test_not_enough_images_names_class_and_fix(annotations: pd.DataFrame) -> None:
    """Asking for more than a class has names the class, what is available and the fix."""
    with pytest.raises(InputError) as caught:
        openimages.select_images(annotations, CLASSES, images_per_class=8, seed=0)
    message = str(caught.value)
    assert caught.value.setting == "images_per_class"
    assert "'Musical instrument' has 7" in message and "'Fruit' has 7" in message
    assert "lower images_per_class to 7" in message
    assert "choose another class" in message


def test_class_without_images_is_reported(annotations: pd.DataFrame) -> None:
    """A valid class with no verified images at all is reported with 0 available."""
    classes = {"Fruit": FRUIT, "Tiger": "/m/07dm6"}
    with pytest.raises(InputError, match="'Tiger' has 0") as caught:
        openimages.select_images(annotations, classes, images_per_class=1, seed=0)
    assert "choose another class instead of 'Tiger'" in str(caught.value)
    assert "lower" not in caught.value.fix


# --- split ----------------------------------------------------------------------------------------


def selection(per_class: int) -> pd.DataFrame:
    """A selection of three classes with `per_class` images each."""
    return pd.DataFrame(
        [
            {"image_id": f"{c}{i:03d}", "class_name": c, "mid": f"/m/{c}"}
            for c in ("x", "y", "z")
            for i in range(per_class)
        ]
    )


def counts(split: pd.DataFrame) -> dict[tuple[str, str], int]:
    """Number of images per (class, split)."""
    return split.groupby(["class_name", "split"]).size().to_dict()


def test_split_is_stratified(tmp_path: Path) -> None:
    """Every class puts the same share of its images in validation."""
    result = openimages.split(selection(10), validation_fraction=0.3, seed=0)
    assert set(result["split"]) == {"train", "validation"}
    for c in ("x", "y", "z"):
        assert counts(result)[(c, "validation")] == 3
        assert counts(result)[(c, "train")] == 7


@pytest.mark.parametrize("fraction", [0.01, 0.99])
def test_split_keeps_one_of_each_per_class(fraction: float) -> None:
    """Even extreme fractions leave each class one train and one validation image."""
    result = openimages.split(selection(4), fraction, seed=3)
    assert all(counts(result).get((c, s), 0) >= 1 for c in "xyz" for s in ("train", "validation"))


def test_split_is_deterministic_and_order_free() -> None:
    """The same seed gives each image the same split whatever the row order."""
    rows = selection(10)
    first = openimages.split(rows, 0.2, seed=4).set_index("image_id")["split"]
    shuffled = rows.sample(frac=1.0, random_state=9)
    again = openimages.split(shuffled, 0.2, seed=4).set_index("image_id")["split"]
    assert first.sort_index().equals(again.sort_index())
    other = openimages.split(rows, 0.2, seed=5).set_index("image_id")["split"]
    assert not first.equals(other)


def test_split_keeps_rows_and_columns() -> None:
    """The split adds one column and keeps the selection's rows in order."""
    rows = selection(5)
    result = openimages.split(rows, 0.2, seed=0)
    pd.testing.assert_frame_equal(result.drop(columns="split"), rows)
    assert "split" not in rows.columns


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1, 1.5])
def test_split_rejects_fractions_outside_0_1(fraction: float) -> None:
    """validation_fraction must be strictly between 0 and 1."""
    with pytest.raises(InputError) as caught:
        openimages.split(selection(5), fraction, seed=0)
    assert caught.value.setting == "validation_fraction"


def test_split_impossible_with_one_image_per_class() -> None:
    """A class of one image cannot be in both splits: an error with the fix."""
    with pytest.raises(InputError, match="images_per_class of 2 or more") as caught:
        openimages.split(selection(1), 0.5, seed=0)
    assert caught.value.setting == "validation_fraction"


# --- downloads ------------------------------------------------------------------------------------


class _Files(http.server.SimpleHTTPRequestHandler):
    """Serves the test folder; counts GETs; /broken.csv promises more bytes than it sends."""

    requests: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        type(self).requests.append(self.path)
        if self.path.endswith("broken.csv"):
            self.send_response(200)
            self.send_header("Content-Length", "100000")
            self.end_headers()
            self.wfile.write(b"ImageID,Source\n")
            self.wfile.flush()
            self.close_connection = True
            return
        super().do_GET()

    def log_message(self, *args: Any) -> None:
        """Keep the test output quiet."""


@pytest.fixture
def web(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Path, list[str]]]:
    """A real HTTP server on 127.0.0.1 serving a folder; yields (base URL, folder, requests)."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    folder = tmp_path / "served"
    folder.mkdir()
    seen: list[str] = []
    handler = type("Handler", (_Files,), {"requests": seen})

    def make(*args: Any, **kwargs: Any) -> http.server.SimpleHTTPRequestHandler:
        return handler(*args, directory=str(folder), **kwargs)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), make)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", folder, seen
    finally:
        server.shutdown()
        server.server_close()


def test_fetch_http_downloads_once(web: tuple[str, Path, list[str]], tmp_path: Path) -> None:
    """The first call downloads into the cache; the second makes no request."""
    base, folder, seen = web
    write_csv(folder / "labels.csv", annotation_rows())
    cache = tmp_path / "cache"
    path = openimages.fetch(f"{base}/dir/../labels.csv", cache)
    assert path == cache / "labels.csv"
    assert path.read_bytes() == (folder / "labels.csv").read_bytes()
    assert openimages.fetch(f"{base}/dir/../labels.csv", cache) == path
    assert len(seen) == 1
    assert sorted(p.name for p in cache.iterdir()) == ["labels.csv"]


def test_fetch_http_error_leaves_nothing(web: tuple[str, Path, list[str]], tmp_path: Path) -> None:
    """A 404 is an InputError naming the URL, and no file is cached."""
    base, _, _ = web
    cache = tmp_path / "cache"
    with pytest.raises(InputError, match="404"):
        openimages.fetch(f"{base}/missing.csv", cache)
    assert list(cache.iterdir()) == []


def test_fetch_interrupted_download_leaves_no_half_file(
    web: tuple[str, Path, list[str]], tmp_path: Path
) -> None:
    """A connection that ends early raises and leaves no partial file behind."""
    base, _, _ = web
    cache = tmp_path / "cache"
    with pytest.raises(InputError, match="broken.csv"):
        openimages.fetch(f"{base}/broken.csv", cache)
    assert list(cache.iterdir()) == []


def test_fetch_rejects_other_schemes(tmp_path: Path) -> None:
    """Only https, http and s3 URLs are accepted."""
    with pytest.raises(InputError, match="https://, http:// or s3://"):
        openimages.fetch("ftp://example.com/a.csv", tmp_path)


def test_fetch_s3_downloads_once(s3: Any, tmp_path: Path) -> None:
    """s3:// URLs download with the given client; the cached copy is reused."""
    body = b"/m/04szw,Musical instrument\n/m/02xwb,Fruit\n"
    s3.put_object(Bucket=openimages.OPEN_IMAGES_BUCKET, Key="2018_04/classes.csv", Body=body)
    url = f"s3://{openimages.OPEN_IMAGES_BUCKET}/2018_04/classes.csv"
    path = openimages.fetch(url, tmp_path / "cache", s3=s3)
    assert path.read_bytes() == body
    assert openimages.fetch(url, tmp_path / "cache", s3=None) == path


def test_fetch_s3_downloads_again_when_the_object_changed(s3: Any, tmp_path: Path) -> None:
    """A larger local Open Images mirror has other annotations: a stale cached copy is replaced."""
    key, url = "2018_04/labels.csv", f"s3://{openimages.OPEN_IMAGES_BUCKET}/2018_04/labels.csv"
    s3.put_object(Bucket=openimages.OPEN_IMAGES_BUCKET, Key=key, Body=b"80 per class\n")
    path = openimages.fetch(url, tmp_path / "cache", s3=s3)
    s3.put_object(Bucket=openimages.OPEN_IMAGES_BUCKET, Key=key, Body=b"1,100 per class\n")
    assert openimages.fetch(url, tmp_path / "cache", s3=s3) == path
    assert path.read_bytes() == b"1,100 per class\n"
    path.write_bytes(b"kept while the object is unchanged\n")
    assert openimages.fetch(url, tmp_path / "cache", s3=s3).read_bytes().startswith(b"kept")


def test_fetch_s3_missing_object(s3: Any, tmp_path: Path) -> None:
    """A missing S3 object is an InputError naming its URI; nothing is cached."""
    url = f"s3://{openimages.OPEN_IMAGES_BUCKET}/nope.csv"
    with pytest.raises(InputError, match="nope.csv"):
        openimages.fetch(url, tmp_path / "cache", s3=s3)
    assert list((tmp_path / "cache").iterdir()) == []


# --- staging --------------------------------------------------------------------------------------


def put_sources(s3: Any, ids: list[str]) -> None:
    """Upload a small fake JPEG per id to the Open Images bucket's test/ folder."""
    for image_id in ids:
        s3.put_object(
            Bucket=openimages.OPEN_IMAGES_BUCKET,
            Key=f"test/{image_id}.jpg",
            Body=f"jpeg {image_id}".encode(),
        )


def test_image_uri() -> None:
    """Staged images live under <prefix>/images/ with a .jpg name."""
    assert openimages.image_uri("b", "demo/run", "abc") == "s3://b/demo/run/images/abc.jpg"
    assert openimages.image_uri("b", "demo", "cats/x.png") == "s3://b/demo/images/cats/x.png"


def test_copy_images_then_rerun_copies_nothing(s3: Any) -> None:
    """Images are copied once, with their content; a second run copies 0."""
    ids = [f"{i:016x}" for i in range(7)]
    put_sources(s3, ids)
    force_small_pages(s3)
    chosen = pd.DataFrame({"image_id": ids})
    report = openimages.copy_images(s3, chosen, "dest", "demo", max_workers=4)
    assert (report.copied, report.skipped) == (7, 0)
    assert report.keys == tuple(f"demo/images/{i}.jpg" for i in ids)
    body = s3.get_object(Bucket="dest", Key=f"demo/images/{ids[3]}.jpg")["Body"].read()
    assert body == f"jpeg {ids[3]}".encode()
    again = openimages.copy_images(s3, chosen, "dest", "demo")
    assert (again.copied, again.skipped) == (0, 7)


def test_copy_images_fills_gaps_only(s3: Any) -> None:
    """Only images missing from the destination are copied; other keys are left alone."""
    ids = ["a1", "a2", "a3"]
    put_sources(s3, ids)
    chosen = pd.DataFrame({"image_id": ids})
    openimages.copy_images(s3, chosen, "dest", "demo")
    s3.delete_object(Bucket="dest", Key="demo/images/a2.jpg")
    s3.put_object(Bucket="dest", Key="demo/images/unrelated.jpg", Body=b"keep")
    report = openimages.copy_images(s3, chosen, "dest", "demo")
    assert (report.copied, report.skipped) == (1, 2)
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket="dest")["Contents"]}
    assert keys == {f"demo/images/{i}.jpg" for i in ids} | {"demo/images/unrelated.jpg"}


def test_copy_images_missing_source_names_the_image(s3: Any) -> None:
    """A selected image absent from the source bucket is an error naming it."""
    put_sources(s3, ["present"])
    chosen = pd.DataFrame({"image_id": ["present", "ghost00000000001"]})
    with pytest.raises(WalkthroughError, match="ghost00000000001"):
        openimages.copy_images(s3, chosen, "dest", "demo")


def test_copy_images_from_own_source_uris(s3: Any) -> None:
    """With a `source_uri` column (own images), that object is copied, keeping its name."""
    s3.create_bucket(Bucket="mine")
    s3.put_object(Bucket="mine", Key="photos/cats/1.png", Body=b"png")
    own = openimages.list_own_images(s3, "s3://mine/photos")
    own = own.rename(columns={"uri": "source_uri"})
    report = openimages.copy_images(s3, own, "dest", "demo")
    assert report.keys == ("demo/images/cats/1.png",)
    assert s3.get_object(Bucket="dest", Key="demo/images/cats/1.png")["Body"].read() == b"png"


def test_list_own_images(s3: Any) -> None:
    """Only .jpg/.jpeg/.png under the prefix (all pages) are listed, sorted."""
    s3.create_bucket(Bucket="mine")
    for key in [
        "photos/a.jpg", "photos/b.JPEG", "photos/sub/c.png", "photos/notes.txt",
        "photos/d.jpg", "photos2/other.jpg", "elsewhere/e.jpg",
    ]:  # fmt: skip
        s3.put_object(Bucket="mine", Key=key, Body=b"x")
    force_small_pages(s3)
    own = openimages.list_own_images(s3, "s3://mine/photos/")
    assert own["image_id"].tolist() == ["a.jpg", "b.JPEG", "d.jpg", "sub/c.png"]
    assert own["uri"].tolist()[0] == "s3://mine/photos/a.jpg"
    assert openimages.list_own_images(s3, "s3://mine/photos").equals(own)


def test_list_own_images_none_found(s3: Any) -> None:
    """A prefix without images is an error on `source` telling what to do."""
    s3.create_bucket(Bucket="mine")
    s3.put_object(Bucket="mine", Key="photos/readme.txt", Body=b"x")
    with pytest.raises(InputError, match="no .jpg, .jpeg or .png") as caught:
        openimages.list_own_images(s3, "s3://mine/photos/")
    assert caught.value.setting == "source"


class _Counting:
    """An S3 client that counts HEAD requests and can refuse listings."""

    def __init__(self, s3: Any, deny_listing: bool = False) -> None:
        self.s3, self.deny_listing, self.heads = s3, deny_listing, 0

    def head_object(self, **kwargs: Any) -> Any:
        self.heads += 1
        return self.s3.head_object(**kwargs)

    def get_paginator(self, name: str) -> Any:
        if self.deny_listing:
            error = {"Error": {"Code": "AccessDenied", "Message": "no s3:ListBucket"}}
            raise ClientError(error, "ListObjectsV2")
        return self.s3.get_paginator(name)


def test_thousands_of_objects_are_checked_from_a_listing_not_one_head_each(s3: Any) -> None:
    """Notebook 01's and check 5's presence test: a folder of many images costs a listing."""
    bucket = openimages.OPEN_IMAGES_BUCKET
    for i in range(60):
        s3.put_object(Bucket=bucket, Key=f"run/images/{i:03d}.jpg", Body=b"x")
    s3.put_object(Bucket=bucket, Key="run/examples/a.jpg", Body=b"x")
    uris = [f"s3://{bucket}/run/images/{i:03d}.jpg" for i in range(62)]
    uris.append(f"s3://{bucket}/run/examples/a.jpg")
    expected = {uri: not uri.endswith(("060.jpg", "061.jpg")) for uri in uris}
    counting = _Counting(s3)
    assert dataset.read_exists(counting, uris) == expected
    assert counting.heads == 1  # the lone example; the 62 images came from one listing
    denied = _Counting(s3, deny_listing=True)
    assert dataset.read_exists(denied, uris) == expected
    assert denied.heads == 63
