"""Small S3 helpers: URIs, the walkthrough's bucket, and reading many objects at once."""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from botocore.exceptions import ClientError, IncompleteReadError, ResponseStreamingError

from helpers.awserrors import is_denied, is_missing
from helpers.errors import InputError
from helpers.tags import SETUP_TAG, tag_pairs

#: The CORS rule Ground Truth needs on the bucket that holds the images, or tasks fail to load.
GROUND_TRUTH_CORS_RULE: dict[str, list[str]] = {
    "AllowedHeaders": [],
    "AllowedMethods": ["GET"],
    "AllowedOrigins": ["*"],
    "ExposeHeaders": ["Access-Control-Allow-Origin"],
}


def split_uri(uri: str) -> tuple[str, str]:
    """Split s3://bucket/key into (bucket, key)."""
    if not uri.startswith("s3://") or "/" not in uri[5:]:
        raise InputError("S3 URI", uri, "must look like s3://bucket/key", "check the URI")
    bucket, _, key = uri[5:].partition("/")
    return bucket, key


def bucket_region(s3: Any, bucket: str) -> str | None:
    """Return the bucket's region, or None when the bucket does not exist."""
    try:
        answer = s3.head_bucket(Bucket=bucket)
    except ClientError as exc:
        if is_missing(exc):
            return None
        if is_denied(exc):
            raise InputError(
                "bucket",
                bucket,
                "the bucket exists but these credentials may not "
                "use it (it may belong to another account)",
                "choose a bucket of your own, or ask for s3:ListBucket on it",
            ) from exc
        raise
    headers = answer.get("ResponseMetadata", {}).get("HTTPHeaders", {})
    return headers.get("x-amz-bucket-region") or answer.get("BucketRegion") or "us-east-1"


def ensure_bucket(s3: Any, bucket: str, region: str, create: bool) -> bool:
    """Make sure the bucket exists in `region`, creating it (with CORS) when allowed."""
    found = bucket_region(s3, bucket)
    if found is not None:
        if found != region:
            raise InputError(
                "bucket",
                bucket,
                f"the bucket is in {found} but the session region "
                f"is {region}; Ground Truth needs them in the same region",
                f"set region={found!r}, or use a bucket in {region}",
            )
        return False
    if not create:
        raise InputError(
            "bucket",
            bucket,
            "the bucket does not exist",
            f"create it (aws s3 mb s3://{bucket} --region {region}{_endpoint_option(s3)}) or "
            "set create_bucket=True",
        )
    request: dict[str, Any] = {"Bucket": bucket}
    if region != "us-east-1":
        request["CreateBucketConfiguration"] = {"LocationConstraint": region}
    s3.create_bucket(**request)
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [GROUND_TRUTH_CORS_RULE]})
    _tag_created(s3, bucket)
    return True


def _endpoint_option(client: Any) -> str:
    """` --endpoint-url <url>` when the client talks to a loopback endpoint (the local AWS)."""
    from helpers.aws import is_loopback

    url = str(getattr(client.meta, "endpoint_url", "") or "")
    return f" --endpoint-url {url}" if is_loopback(url) else ""


def _tag_created(s3: Any, bucket: str) -> None:
    """Tag a bucket just created as a setup piece (clean-up deletes only such a bucket, empty).

    When tagging is denied, the bucket is left untagged.
    """
    try:
        s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": tag_pairs(SETUP_TAG)})
    except ClientError as exc:
        if not is_denied(exc):
            raise


def read_object(s3: Any, bucket: str, key: str, attempts: int = 3) -> bytes:
    """Read one object; a connection cut in the middle of the body is read again (3 tries)."""
    for _ in range(attempts - 1):
        try:
            return bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        except (ResponseStreamingError, IncompleteReadError):
            continue
    return bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def read_objects(s3: Any, uris: Iterable[str], max_workers: int = 16) -> dict[str, bytes]:
    """Read many S3 objects concurrently; return uri -> bytes."""
    uris = list(uris)

    def read(uri: str) -> bytes:
        return read_object(s3, *split_uri(uri))

    with ThreadPoolExecutor(max_workers=max_workers) as pool:
        return dict(zip(uris, pool.map(read, uris), strict=True))


#: From this many objects under one prefix, existence is read from a listing, not one HEAD each.
LIST_FROM = 50


def objects_exist(s3: Any, uris: Iterable[str], max_workers: int = 16) -> dict[str, bool]:
    """Whether each object exists: many under one prefix from its listing, the rest by HEAD.

    5,000 images in one folder take 5 listing pages instead of 5,000 requests. A listing that
    is denied, or that runs far past the objects asked about, falls back to one HEAD each.
    """
    uris = list(dict.fromkeys(uris))
    groups: dict[tuple[str, str], list[str]] = {}
    for uri in uris:
        bucket, key = split_uri(uri)
        groups.setdefault((bucket, key.rpartition("/")[0] + "/"), []).append(uri)
    found: dict[str, bool] = {}
    heads: list[str] = []
    for (bucket, prefix), members in groups.items():
        listed = (
            _listed_keys(s3, bucket, prefix, len(members)) if len(members) >= LIST_FROM else None
        )
        if listed is None:
            heads.extend(members)
        else:
            found.update({uri: split_uri(uri)[1] in listed for uri in members})
    if heads:
        with ThreadPoolExecutor(max_workers=max_workers) as pool:
            found.update(zip(heads, pool.map(lambda u: object_exists(s3, u), heads), strict=True))
    return {uri: found[uri] for uri in uris}


def _listed_keys(s3: Any, bucket: str, prefix: str, wanted: int) -> set[str] | None:
    """The keys under a prefix; None when listing is denied or would read 10x more than asked."""
    keys: set[str] = set()
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            keys.update(o["Key"] for o in page.get("Contents", []))
            if len(keys) > 10 * wanted + 1000:
                return None
    except ClientError as exc:
        if is_denied(exc) or is_missing(exc):
            return None
        raise
    return keys


def object_exists(s3: Any, uri: str) -> bool:
    """Return True when the S3 object exists."""
    bucket, key = split_uri(uri)
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if is_missing(exc):
            return False
        raise
    return True


def read_text(s3: Any, uri: str) -> str | None:
    """Read an S3 object as text; None when it does not exist (a denied read is raised)."""
    bucket, key = split_uri(uri)
    try:
        return read_object(s3, bucket, key).decode("utf-8")
    except ClientError as exc:
        if is_missing(exc):
            return None
        raise
