"""Notebook 05's clean-up on the local AWS: a full run and decoys it must not touch."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from helpers import (
    cleanup,
    dataset,
    following,
    local,
    planning,
    policies,
    provision,
    records,
    submission,
)
from helpers.aws import connect
from helpers.errors import InputError, WalkthroughError
from helpers.records import RunRecord
from helpers.s3 import ensure_bucket
from helpers.settings import load
from tests.support import SAGEMAKER_TRUST, execute_notebook, notebook_outputs, workforce_pool

REGION = "us-west-2"
ACCOUNT = "123456789012"
BUCKET = "gt-cleanup-tests"
PREFIX = "cleanup-tests/demo"
GROUP = "cleanup-test-labelers"
CLUSTER = "cleanup-tests-cluster"
ROLES = {
    "role_arn": f"arn:aws:iam::{ACCOUNT}:role/cleanup-tests-execution",
    "kfp_pod_role_arn": f"arn:aws:iam::{ACCOUNT}:role/cleanup-tests-pod",
}
DECOY_KEYS = ("elsewhere/keep.txt", f"{PREFIX}-other/x.txt")
DECOY_TEAM = "cleanup-decoy-team"
DECOY_ROLE = "cleanup-decoy-role"
SLOW_JOB = "cleanup-tests-slow-job"
OTHER_RUN_JOB = "cleanup-tests-other-run-job"
LAMBDAS = f"arn:aws:lambda:{REGION}:081040173940:function:"


def settings_for(**overrides: Any) -> Any:
    """Local-mode settings of the clean-up tests' run."""
    values = {
        "bucket": BUCKET,
        "prefix": PREFIX,
        "images_per_class": 4,
        "test_images_per_class": 2,
        "user_groups": GROUP,
        "labelers": "cleanup-a,cleanup-b,cleanup-c",
        "eks_cluster_name": CLUSTER,
        **ROLES,
    }
    return load({**values, **overrides}, env={})


def labeling_request(settings: Any, name: str, team_arn: str, **changes: Any) -> dict[str, Any]:
    """A CreateLabelingJob request on the staged inputs."""
    staged = dataset.input_uris(settings)
    request = {
        "LabelingJobName": name,
        "LabelAttributeName": "category",
        "InputConfig": {"DataSource": {"S3DataSource": {"ManifestS3Uri": staged.train_manifest}}},
        "OutputConfig": {"S3OutputPath": f"{settings.s3_prefix_uri}/output"},
        "RoleArn": settings.role_arn,
        "LabelCategoryConfigS3Uri": staged.label_config,
        "HumanTaskConfig": {
            "WorkteamArn": team_arn,
            "UiConfig": {"UiTemplateS3Uri": staged.ui_template},
            "PreHumanTaskLambdaArn": f"{LAMBDAS}PRE-ImageMultiClass",
            "TaskTitle": "t",
            "TaskDescription": "d",
            "NumberOfHumanWorkersPerDataObject": 3,
            "TaskTimeLimitInSeconds": 300,
            "AnnotationConsolidationConfig": {
                "AnnotationConsolidationLambdaArn": f"{LAMBDAS}ACS-ImageMultiClass"
            },
        },
    }
    return {**request, **changes}


@pytest.fixture(scope="module")
def run(local_aws_url: str) -> Iterator[dict[str, Any]]:
    """Stage, set up (create-missing) and run the pipeline under our prefix; add decoys."""
    settings = settings_for()
    aws = connect(settings)
    s3, iam, sm = aws.client("s3"), aws.client("iam"), aws.client("sagemaker")
    workforce_pool(REGION)
    ensure_bucket(s3, BUCKET, REGION, create=True)
    open_images = dataset.load_annotations(settings, s3)
    chosen = dataset.choose_images(settings, s3, open_images)
    examples = dataset.choose_examples(settings, open_images, chosen)
    test = dataset.choose_test_images(settings, open_images, chosen, examples)
    dataset.stage_images(settings, s3, chosen, examples, test)
    dataset.write_inputs(settings, s3, chosen, examples)
    dataset.write_test_labels(settings, s3, test)
    steps = provision.create_missing(settings, aws)
    assert not [s for s in steps if s.outcome == provision.FAILED], steps
    submitted = submission.submit_or_resume(settings, aws)
    following.follow(aws, submitted.record, submitted.finished, poll_seconds=0.3)
    for key in DECOY_KEYS:
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"not the walkthrough's")
    iam.create_role(RoleName=DECOY_ROLE, AssumeRolePolicyDocument=SAGEMAKER_TRUST)
    iam.attach_role_policy(
        RoleName=DECOY_ROLE, PolicyArn="arn:aws:iam::aws:policy/AmazonS3FullAccess"
    )
    pool, client_id = planning.workforce_cognito(aws, settings)
    member = {
        "CognitoMemberDefinition": {"UserPool": pool, "UserGroup": GROUP, "ClientId": client_id}
    }
    decoy_team = sm.create_workteam(
        WorkteamName=DECOY_TEAM, MemberDefinitions=[member], Description="not ours"
    )["WorkteamArn"]
    yield {"settings": settings, "aws": aws, "record": submitted.record, "decoy_team": decoy_team}
    if CLUSTER in aws.client("eks").list_clusters()["clusters"]:  # other modules expect none
        aws.client("eks").delete_cluster(name=CLUSTER)


def objects(s3: Any, prefix: str = "") -> list[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    return [o["Key"] for page in pages for o in page.get("Contents", [])]


def mutating(counts: dict[str, int]) -> dict[str, int]:
    verbs = ("Delete", "Stop", "Detach", "Remove")
    return {k: v for k, v in counts.items() if k.split(".", 1)[1].startswith(verbs)}


def test_local_mode_deletes_by_default_and_aws_mode_asks() -> None:
    assert settings_for().confirm_delete is True
    aws_mode = load({"mode": "aws", "bucket": BUCKET}, env={})
    assert aws_mode.confirm_delete is False
    assert load({"mode": "aws", "bucket": BUCKET, "confirm_delete": True}, env={}).confirm_delete


def test_bad_names_and_the_bucket_root_are_refused() -> None:
    assert cleanup.parse_also_delete(" workforce, cognito-pool ") == {"workforce", "cognito-pool"}
    assert cleanup.parse_also_delete(None) == frozenset()
    with pytest.raises(InputError, match="also_delete"):
        cleanup.parse_also_delete("workforce,bucket")
    for prefix in ("", "/", "//"):
        with pytest.raises(WalkthroughError, match="bucket's root"):
            cleanup.object_prefix(dataclasses.replace(settings_for(), prefix=prefix))
    assert cleanup.object_prefix(settings_for()) == PREFIX + "/"


def test_aws_mode_without_confirmation_only_shows_the_plan(
    run: dict[str, Any], local_aws_url: str
) -> None:
    settings = load(
        {
            "mode": "aws",
            "bucket": BUCKET,
            "prefix": PREFIX,
            "eks_cluster_name": CLUSTER,
            **ROLES,
        },
        env={},
    )
    aws = connect(settings)  # aws mode; this process's boto3 already points at the local AWS
    local.reset_request_counts(local_aws_url)
    plan = cleanup.survey(settings, aws, cleanup.parse_also_delete("workforce,cognito-pool"))
    done = cleanup.carry_out(aws, plan)
    assert not plan.confirmed
    planned = {(i.kind, i.action) for i in cleanup.leftovers(plan)}
    assert {("workteam", "delete"), ("S3 objects", "delete"), ("IAM role", "delete")} <= planned
    assert {d.outcome for d in done} <= {cleanup.NOT_DONE, "kept"}
    assert mutating(local.request_counts(local_aws_url)) == {}
    kinds = [i.kind for i in plan.items]
    assert kinds.index("workteam") < kinds.index("private workforce")
    assert kinds.index("workteam") < kinds.index("Cognito user pool")
    assert "dry run" in cleanup.summary_line(plan, done)


def test_the_notebook_stops_running_jobs_first_and_removes_only_what_the_run_made(
    run: dict[str, Any], local_aws_url: str, tmp_path: Path
) -> None:
    settings, aws, record = run["settings"], run["aws"], run["record"]
    sm, s3, iam = aws.client("sagemaker"), aws.client("s3"), aws.client("iam")
    team_arn = sm.describe_workteam(WorkteamName=record.names["team"])["Workteam"]["WorkteamArn"]
    local.drive_clock(local_aws_url, speed=1)  # slow: the jobs stay running until stopped
    try:
        sm.create_labeling_job(
            **labeling_request(
                settings,
                SLOW_JOB,
                team_arn,
                Tags=[{"Key": "walkthrough-run", "Value": record.run_id}],
            )
        )
        sm.create_labeling_job(
            **labeling_request(
                settings,
                OTHER_RUN_JOB,
                run["decoy_team"],
                RoleArn=f"arn:aws:iam::{ACCOUNT}:role/{DECOY_ROLE}",
                OutputConfig={"S3OutputPath": f"s3://{BUCKET}/elsewhere/output"},
                Tags=[{"Key": "walkthrough-run", "Value": "another-run"}],
            )
        )
        local.reset_request_counts(local_aws_url)
        notebook = execute_notebook(
            "05_clean_up.ipynb", tmp_path, bucket=BUCKET, prefix=PREFIX, **ROLES
        )
        counts = local.request_counts(local_aws_url)
        other_status = sm.describe_labeling_job(LabelingJobName=OTHER_RUN_JOB)["LabelingJobStatus"]
    finally:
        local.drive_clock(local_aws_url, speed=100)
    assert sm.describe_labeling_job(LabelingJobName=SLOW_JOB)["LabelingJobStatus"] == "Stopped"
    assert other_status in ("Initializing", "InProgress")
    assert counts.get("sagemaker.StopLabelingJob") == 1
    assert counts.get("sagemaker.DeleteWorkteam") == 1
    assert not [k for k in counts if k.startswith("cognito-idp.Delete")]
    assert not [k for k in counts if k.startswith("sagemaker.DeleteWorkforce")]
    # what the run made is gone, the decoys are not
    assert objects(s3, PREFIX + "/") == []
    assert sorted(objects(s3)) == sorted(DECOY_KEYS)
    assert DECOY_TEAM in [t["WorkteamName"] for t in sm.list_workteams()["Workteams"]]
    assert record.names["team"] not in [t["WorkteamName"] for t in sm.list_workteams()["Workteams"]]
    roles = [r["RoleName"] for r in iam.list_roles()["Roles"]]
    assert DECOY_ROLE in roles
    assert CLUSTER in aws.client("eks").list_clusters()["clusters"]  # shared: kept unless named
    assert not {"cleanup-tests-execution", "cleanup-tests-pod"} & set(roles)
    assert boto3.client("s3", region_name=REGION).head_bucket(Bucket=BUCKET)  # other objects
    # the tables: stops first, job records listed as such, the summary line
    shown = notebook_outputs(notebook)
    assert not [o for o in shown if o["output_type"] == "error"]
    html = [("".join(o["data"].get("text/html", ""))) for o in shown if "data" in o]
    plan_html = next(h for h in html if "found by" in h)
    done_html = next(h for h in html if "outcome" in h)
    assert plan_html.index(SLOW_JOB) < plan_html.index(record.names["team"])
    assert cleanup.CANNOT_DELETE in plan_html
    assert "stopped (Stopped)" in done_html and OTHER_RUN_JOB not in plan_html
    assert DECOY_TEAM not in plan_html and DECOY_ROLE not in plan_html
    summary = "".join(shown[-1]["data"]["text/markdown"])
    assert summary.startswith("**Done:**") and "stopped 1 job(s)" in summary
    model = record.names.get("model")  # named once the pipeline predicts (issue 13)
    if model:
        assert model in plan_html and "predictions/ (batch transform output)" in plan_html
        assert model not in [m["ModelName"] for m in sm.list_models()["Models"]]


def test_running_it_again_changes_nothing(run: dict[str, Any], local_aws_url: str) -> None:
    settings, aws, record = run["settings"], run["aws"], run["record"]
    local.reset_request_counts(local_aws_url)
    plan = cleanup.survey(settings, aws)
    done = cleanup.carry_out(aws, plan)
    assert cleanup.leftovers(plan) == []
    assert mutating(local.request_counts(local_aws_url)) == {}
    records = {i.resource for i in plan.items if cleanup.CANNOT_DELETE in i.note}
    assert {record.names["train_job"], record.names["training_job"]} <= records
    if record.names.get("transform_job"):  # once the pipeline predicts (issue 13)
        assert record.names["transform_job"] in records
    bucket_row = next(i for i in plan.items if i.kind == "S3 bucket")
    assert bucket_row.action == "keep" and "outside the prefix" in bucket_row.note
    assert all(d.outcome == "kept" for d in done)


def test_the_helper_deletes_the_workteam_before_a_named_pool_and_an_empty_created_bucket(
    run: dict[str, Any], local_aws_url: str
) -> None:
    """Through the helper: another prefix and a bucket the walkthrough created and emptied."""
    aws = run["aws"]
    s3, sm, idp = aws.client("s3"), aws.client("sagemaker"), aws.client("cognito-idp")
    bucket, prefix = "gt-cleanup-tests-created", "helper/demo"
    pool = idp.create_user_pool(
        PoolName="cleanup-named-pool", UserPoolTags={"walkthrough-setup": "true"}
    )["UserPool"]["Id"]
    settings = settings_for(bucket=bucket, prefix=prefix, user_pool=pool)
    ensure_bucket(s3, bucket, REGION, create=True)  # tags it as the walkthrough's
    untagged = "gt-cleanup-tests-not-ours"
    s3.create_bucket(Bucket=untagged, CreateBucketConfiguration={"LocationConstraint": REGION})
    record = RunRecord(
        run_id="4e1f0001",
        mode="local",
        component_set="python",
        names={
            "team": "cleanup-helper-team",
            "train_job": "x",
            "validation_job": "y",
            "training_job": "z",
        },
        arguments={"ground_truth_output_location": f"s3://{bucket}/{prefix}/output"},
        submitted_at="2026-01-01T00:00:00+00:00",
    )
    records.save_record(s3, settings, record)
    workforce = planning.workforce_cognito(aws, settings_for())
    member = {
        "CognitoMemberDefinition": {
            "UserPool": workforce[0],
            "UserGroup": GROUP,
            "ClientId": workforce[1],
        }
    }
    sm.create_workteam(
        WorkteamName="cleanup-helper-team",
        MemberDefinitions=[member],
        Description="d",
        Tags=[{"Key": "walkthrough-run", "Value": "4e1f0001"}],
    )
    shared = cleanup.parse_also_delete("cognito-pool,oidc-provider,eks-cluster")
    plan = cleanup.survey(settings, aws, shared)
    done = cleanup.carry_out(aws, plan)
    outcome = {d.kind: (i, d.outcome) for i, d in enumerate(done) if d.action == "delete"}
    assert outcome["workteam"][0] < outcome["Cognito user pool"][0] < outcome["S3 bucket"][0]
    assert {"IAM OIDC provider", "EKS cluster"} <= set(outcome)
    assert CLUSTER not in aws.client("eks").list_clusters()["clusters"]
    assert all(o.startswith("deleted") for _, o in outcome.values()), done
    assert bucket not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    # an untagged bucket with only prefix objects is kept
    s3.put_object(Bucket=untagged, Key=f"{prefix}/a.txt", Body=b"a")
    plan = cleanup.survey(settings_for(bucket=untagged, prefix=prefix), aws)
    cleanup.carry_out(aws, plan)
    assert untagged in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert objects_in(s3, untagged) == []


def objects_in(s3: Any, bucket: str) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]


def test_a_role_that_also_serves_another_prefix_only_loses_this_one(local_aws_url: str) -> None:
    name = "cleanup-tests-shared-role"
    first, second = "cleanup-tests/shared-a", "cleanup-tests/shared-b"
    values = {
        "role_arn": f"arn:aws:iam::{ACCOUNT}:role/{name}",
        "kfp_pod_role_arn": f"arn:aws:iam::{ACCOUNT}:role/cleanup-tests-no-such-pod-role",
    }
    a, b = settings_for(prefix=first, **values), settings_for(prefix=second, **values)
    aws = connect(a)
    iam = aws.client("iam")
    ensure_bucket(aws.client("s3"), BUCKET, REGION, create=True)
    both = policies.merge_policy(
        policies.execution_policy(a, ACCOUNT), policies.execution_policy(b, ACCOUNT)
    )
    iam.create_role(
        RoleName=name,
        AssumeRolePolicyDocument=SAGEMAKER_TRUST,
        Tags=[{"Key": "walkthrough-setup", "Value": "true"}],
    )
    iam.put_role_policy(
        RoleName=name, PolicyName=policies.EXECUTION_POLICY_NAME, PolicyDocument=json.dumps(both)
    )

    def role_item(settings: Any) -> cleanup.Item:
        plan = cleanup.survey(settings, aws)
        return next(i for i in plan.items if i.kind == "IAM role" and i.resource == name)

    item = role_item(a)
    assert item.action == "narrow" and f"s3://{BUCKET}/{second}/" in item.note
    plan = cleanup.survey(a, aws)
    done = {d.resource: d.outcome for d in cleanup.carry_out(aws, plan)}
    assert done[name].startswith("narrowed")
    left = iam.get_role_policy(RoleName=name, PolicyName=policies.EXECUTION_POLICY_NAME)
    assert policies.object_arns(left["PolicyDocument"]) == {b.layout.object_arn}
    assert role_item(a).action == "keep"  # a second clean-up of the first prefix leaves it
    assert role_item(b).action == "delete"  # the last prefix's clean-up removes the role


def test_a_walkthrough_prefix_nested_under_the_cleaned_one_is_kept_and_listed(
    run: dict[str, Any], local_aws_url: str
) -> None:
    """Cleaning `parent` leaves `parent/child` (another walkthrough prefix) and its run alone."""
    aws = run["aws"]
    s3, sm = aws.client("s3"), aws.client("sagemaker")
    bucket, parent, child = "gt-cleanup-tests-nested", "nested-tests", "nested-tests/child"
    none = f"arn:aws:iam::{ACCOUNT}:role/nested-tests-no-such-role"
    ensure_bucket(s3, bucket, REGION, create=True)
    parent_settings, child_settings = (
        settings_for(bucket=bucket, prefix=p, role_arn=none, kfp_pod_role_arn=none)
        for p in (parent, child)
    )
    for key in ("train.manifest", "class_labels.json", "instructions.template", "img/a.jpg"):
        s3.put_object(Bucket=bucket, Key=f"{parent}/{key}", Body=b"parent")
        s3.put_object(Bucket=bucket, Key=f"{child}/{key}", Body=b"child")
    record = RunRecord(
        run_id="c41d0001",
        mode="local",
        component_set="python",
        names={
            "team": "nested-child-team",
            "train_job": "a",
            "validation_job": "b",
            "training_job": "c",
        },
        arguments={"ground_truth_output_location": f"s3://{bucket}/{child}/output"},
        submitted_at="2026-01-01T00:00:00+00:00",
    )
    records.save_record(s3, child_settings, record)  # in the bucket and under runs/records/
    pool, client_id = planning.workforce_cognito(aws, parent_settings)
    member = {
        "CognitoMemberDefinition": {"UserPool": pool, "UserGroup": GROUP, "ClientId": client_id}
    }
    sm.create_workteam(
        WorkteamName="nested-child-team",
        MemberDefinitions=[member],
        Description="the child prefix's run",
        Tags=[{"Key": "walkthrough-run", "Value": "c41d0001"}],
    )

    plan = cleanup.survey(parent_settings, aws)
    rows = {(i.kind, i.resource): i for i in plan.items}
    assert ("workteam", "nested-child-team") not in rows
    own = rows[("S3 objects", f"s3://{bucket}/{parent}/")]
    assert own.action == "delete" and own.note.startswith("4 objects")
    kept = rows[("S3 objects", f"s3://{bucket}/{child}/")]
    assert kept.action == "keep" and "another walkthrough prefix" in kept.note
    assert f"prefix={child}" in kept.note and kept.note.startswith("6 objects")
    assert rows[("S3 bucket", f"s3://{bucket}")].action == "keep"

    done = cleanup.carry_out(aws, plan)
    assert not [d for d in done if d.outcome.startswith("failed")], done
    assert objects_in(s3, bucket) == sorted(
        [f"{child}/{k}" for k in ("class_labels.json", "img/a.jpg", "instructions.template")]
        + [f"{child}/runs/c41d0001.json", f"{child}/runs/latest.json", f"{child}/train.manifest"]
    )
    assert sm.describe_workteam(WorkteamName="nested-child-team")["Workteam"]
    child_plan = cleanup.survey(child_settings, aws)
    assert ("workteam", "nested-child-team", "delete") in {
        (i.kind, i.resource, i.action) for i in child_plan.items
    }
    cleanup.carry_out(aws, child_plan)


# --- predictions: the runs' models and transform jobs (issue 13) ----------------------------------

MODELS_BUCKET = "gt-cleanup-models-tests"
MODELS_PREFIX = "cleanup-tests/models"
OUR_RUN, OTHER_RUN = "0a0a0a0a", "0b0b0b0b"


def _sm_arn(kind: str, name: str) -> str:
    return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:{kind}/{name}"


def _record(run_id: str, **names: str) -> RunRecord:
    base = {
        "team": f"t-{run_id}",
        "train_job": f"a-{run_id}",
        "validation_job": f"b-{run_id}",
        "training_job": f"c-{run_id}",
    }
    return RunRecord(run_id, "local", "python", {**base, **names}, {}, "2026-11-30T00:00:00+00:00")


def _no_labeling_jobs(stub: Any, run_id: str) -> None:
    """The run's labeling jobs were never created: no final model of automated labeling."""
    for job in (f"a-{run_id}", f"b-{run_id}"):
        stub.add_client_error(
            "describe_labeling_job",
            service_error_code="ResourceNotFound",
            service_message=f"Could not find labeling job {job}",
            expected_params={"LabelingJobName": job},
        )


def _model_settings() -> Any:
    """Settings of their own: roles and a bucket no other test of this module uses."""
    roles = {
        "role_arn": f"arn:aws:iam::{ACCOUNT}:role/cleanup-tests-models-execution",
        "kfp_pod_role_arn": f"arn:aws:iam::{ACCOUNT}:role/cleanup-tests-models-pod",
    }
    return settings_for(bucket=MODELS_BUCKET, prefix=MODELS_PREFIX, **roles)


def test_models_are_found_by_the_run_tag_and_another_run_s_model_is_left_alone() -> None:
    """Stubbed SageMaker (the real API's shapes): ListModels, then each model's tags."""
    from botocore.stub import Stubber

    settings = _model_settings()
    under = cleanup.Scope(MODELS_BUCKET, MODELS_PREFIX + "/")
    sm = boto3.client("sagemaker", region_name=REGION)
    ours, theirs, stray = (
        f"mini-image-classification-model-{OUR_RUN}",
        f"mini-image-classification-model-{OTHER_RUN}",
        "mini-image-classification-model-0c0c0c0c",
    )
    when = "2026-11-30T00:00:00Z"
    with Stubber(sm) as stub:
        stub.add_response(
            "list_models",
            {
                "Models": [
                    {"ModelName": n, "ModelArn": _sm_arn("model", n), "CreationTime": when}
                    for n in (ours, theirs, stray)
                ]
            },
            {},
        )
        for name, run_id in ((ours, OUR_RUN), (theirs, OTHER_RUN), (stray, "0c0c0c0c")):
            tags = [{"Key": "walkthrough-run", "Value": run_id}]
            stub.add_response("list_tags", {"Tags": tags}, {"ResourceArn": _sm_arn("model", name)})
            if name != ours:  # tagged with a run this prefix did not record: whose data is it?
                data = (
                    f"s3://{MODELS_BUCKET}/{MODELS_PREFIX}/training-output/x/output/model.tar.gz"
                    if name == stray
                    else f"s3://{MODELS_BUCKET}/elsewhere/output/model.tar.gz"
                )
                stub.add_response(
                    "describe_model",
                    {
                        "ModelName": name,
                        "ModelArn": _sm_arn("model", name),
                        "CreationTime": when,
                        "PrimaryContainer": {"Image": "img", "ModelDataUrl": data},
                    },
                    {"ModelName": name},
                )
        _no_labeling_jobs(stub, OUR_RUN)
        runs = {OUR_RUN: (_record(OUR_RUN, model=ours), "record in the bucket")}
        items = cleanup._model_items(sm, runs, under)
        stub.assert_no_pending_responses()
    assert [(i.resource, i.action) for i in items] == [(ours, "delete"), (stray, "delete")]
    assert items[0].found_by == f"tag walkthrough-run={OUR_RUN} (record in the bucket)"
    assert items[1].found_by == "tag walkthrough-run=0c0c0c0c and model data under the prefix"
    assert theirs not in {i.resource for i in items}
    assert settings.layout.predictions(OUR_RUN).startswith(f"s3://{MODELS_BUCKET}/{MODELS_PREFIX}")


def test_a_recorded_model_without_the_run_tag_is_kept_and_said_so() -> None:
    from botocore.stub import Stubber

    sm = boto3.client("sagemaker", region_name=REGION)
    name = f"mini-image-classification-model-{OUR_RUN}"
    with Stubber(sm) as stub:
        stub.add_response("list_models", {"Models": []}, {})
        _no_labeling_jobs(stub, OUR_RUN)
        model = {"ModelName": name, "ModelArn": _sm_arn("model", name)}
        stub.add_response(
            "describe_model", {**model, "CreationTime": "2026-11-30T00:00:00Z"}, {"ModelName": name}
        )
        runs = {OUR_RUN: (_record(OUR_RUN, model=name), "local record")}
        (item,) = cleanup._model_items(sm, runs, cleanup.Scope(MODELS_BUCKET, "p/"))
    assert item.action == "keep" and "not tagged walkthrough-run=0a0a0a0a" in item.note
    runs = {OUR_RUN: (_record(OUR_RUN), "local record")}  # a record from before predictions
    with Stubber(sm) as stub:
        stub.add_response("list_models", {"Models": []}, {})
        _no_labeling_jobs(stub, OUR_RUN)
        assert cleanup._model_items(sm, runs, cleanup.Scope(MODELS_BUCKET, "p/")) == []


def test_the_final_model_automated_labeling_left_is_deleted() -> None:
    """A recorded labeling job's FinalActiveLearningModelArn names a model: it goes too."""
    from botocore.stub import Stubber

    sm = boto3.client("sagemaker", region_name=REGION)
    final = f"a-{OUR_RUN}-final-model"
    when = "2026-11-30T00:00:00Z"
    job = {
        "LabelingJobStatus": "Completed",
        "LabelCounters": {"TotalLabeled": 1500, "HumanLabeled": 600, "MachineLabeled": 900},
        "CreationTime": when,
        "LastModifiedTime": when,
        "JobReferenceCode": "ref",
        "LabelingJobName": f"a-{OUR_RUN}",
        "LabelingJobArn": _sm_arn("labeling-job", f"a-{OUR_RUN}"),
        "InputConfig": {"DataSource": {"S3DataSource": {"ManifestS3Uri": "s3://b/p/m"}}},
        "OutputConfig": {"S3OutputPath": "s3://b/p/output"},
        "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/r",
        "HumanTaskConfig": {
            "WorkteamArn": _sm_arn("workteam", "private-crowd/t"),
            "UiConfig": {"UiTemplateS3Uri": "s3://b/p/t"},
            "PreHumanTaskLambdaArn": "arn:aws:lambda:us-west-2:081040173940:function:PRE-x",
            "TaskTitle": "t",
            "TaskDescription": "d",
            "NumberOfHumanWorkersPerDataObject": 1,
            "TaskTimeLimitInSeconds": 300,
            "AnnotationConsolidationConfig": {
                "AnnotationConsolidationLambdaArn": (
                    "arn:aws:lambda:us-west-2:081040173940:function:ACS-x"
                )
            },
        },
        "LabelingJobOutput": {
            "OutputDatasetS3Uri": "s3://b/p/output/manifest",
            "FinalActiveLearningModelArn": _sm_arn("model", final),
        },
    }
    with Stubber(sm) as stub:
        stub.add_response("list_models", {"Models": []}, {})
        stub.add_response("describe_labeling_job", job, {"LabelingJobName": f"a-{OUR_RUN}"})
        model = {"ModelName": final, "ModelArn": _sm_arn("model", final), "CreationTime": when}
        stub.add_response("describe_model", model, {"ModelName": final})
        stub.add_client_error(
            "describe_labeling_job",
            service_error_code="ResourceNotFound",
            expected_params={"LabelingJobName": f"b-{OUR_RUN}"},
        )
        runs = {OUR_RUN: (_record(OUR_RUN), "local record")}
        (item,) = cleanup._model_items(sm, runs, cleanup.Scope(MODELS_BUCKET, "p/"))
        stub.assert_no_pending_responses()
    assert (item.resource, item.kind, item.action) == (final, "model", "delete")
    assert item.found_by == f"final model of labeling job a-{OUR_RUN} (local record {OUR_RUN})"


class _Stubbed:
    """An `Aws` whose SageMaker client is stubbed."""

    def __init__(self, sm: Any) -> None:
        self.sm = sm

    def client(self, service: str) -> Any:
        assert service == "sagemaker"
        return self.sm


def test_a_running_transform_job_is_stopped_and_a_model_deleted_once() -> None:
    from botocore.stub import Stubber

    sm = boto3.client("sagemaker", region_name=REGION)
    plan = cleanup.Plan((), True, MODELS_BUCKET, MODELS_PREFIX + "/")
    job = f"mini-image-classification-predictions-{OUR_RUN}"
    model = f"mini-image-classification-model-{OUR_RUN}"
    stop = cleanup.Item(job, "transform job", "tag", "stop", "InProgress", {"name": job})
    delete = cleanup.Item(model, "model", "tag", "delete", "", {"name": model})
    described = {
        "TransformJobName": job,
        "TransformJobArn": _sm_arn("transform-job", job),
        "ModelName": model,
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/p/"}}
        },
        "TransformResources": {"InstanceType": "ml.c5.xlarge", "InstanceCount": 1},
        "CreationTime": "2026-11-30T00:00:00Z",
    }
    with Stubber(sm) as stub:
        stub.add_response(
            "describe_transform_job",
            {**described, "TransformJobStatus": "InProgress"},
            {"TransformJobName": job},
        )
        stub.add_response("stop_transform_job", {}, {"TransformJobName": job})
        stub.add_response("delete_model", {}, {"ModelName": model})
        stub.add_client_error(
            "delete_model",
            "ValidationException",
            f'Could not find model "{_sm_arn("model", model)}".',
            expected_params={"ModelName": model},
        )
        aws = _Stubbed(sm)
        assert cleanup._act(aws, plan, stop) == "stop requested"
        assert cleanup._act(aws, plan, delete) == "deleted"
        assert cleanup._act(aws, plan, delete) == "already gone"  # re-running is safe
        stub.assert_no_pending_responses()


def test_the_plan_counts_the_predictions_with_the_prefix_s_objects() -> None:
    prefix = MODELS_PREFIX + "/"
    listing = [
        (f"{prefix}images/a.jpg", 10),
        (f"{prefix}test/images/t.jpg", 10),
        (f"{prefix}predictions/{OUR_RUN}/t.jpg.out", 1),
        (f"{prefix}predictions/{OUR_RUN}/u.jpg.out", 1),
        (f"{prefix}train.manifest", 1),
    ]
    (item,) = cleanup._object_items(listing, cleanup.Scope(MODELS_BUCKET, prefix))
    assert item.action == "delete" and item.note.startswith("5 objects")
    assert "predictions/ (batch transform output) 2" in item.note
    assert "test/ (held-out test images and their labels) 1" in item.note


def test_clean_up_deletes_the_run_s_models_in_the_local_aws_and_leaves_another_run_s(
    local_aws_url: str,
) -> None:
    """On the local AWS: a recorded run's model goes, another run's stays; a re-run does nothing."""
    settings = _model_settings()
    aws = connect(settings)
    s3, sm = aws.client("s3"), aws.client("sagemaker")
    ensure_bucket(s3, MODELS_BUCKET, REGION, create=True)
    iam = aws.client("iam")
    role = settings.role_arn.rsplit("/", 1)[1]
    if not [r for r in iam.list_roles()["Roles"] if r["RoleName"] == role]:
        iam.create_role(RoleName=role, AssumeRolePolicyDocument=SAGEMAKER_TRUST)
        iam.put_role_policy(
            RoleName=role,
            PolicyName=policies.EXECUTION_POLICY_NAME,
            PolicyDocument=json.dumps(policies.execution_policy(settings, ACCOUNT)),
        )
        # another walkthrough's models live elsewhere in the bucket: the role reads there too
        iam.attach_role_policy(
            RoleName=role, PolicyArn="arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"
        )
    record = json.dumps(dataclasses.asdict(_record(OUR_RUN)))
    for run_id in (OUR_RUN, "latest"):
        key = settings.layout.run_record(run_id).split("/", 3)[3]
        s3.put_object(Bucket=MODELS_BUCKET, Key=key, Body=record.encode())
    from helpers.regions import image_classification_image

    models = {}
    for run_id, where in ((OUR_RUN, MODELS_PREFIX), (OTHER_RUN, "elsewhere")):
        key = f"{where}/training-output/c-{run_id}/output/model.tar.gz"
        s3.put_object(Bucket=MODELS_BUCKET, Key=key, Body=b"not a real model")
        name = f"mini-image-classification-model-{run_id}"
        sm.create_model(
            ModelName=name,
            PrimaryContainer={
                "Image": image_classification_image(REGION),
                "ModelDataUrl": f"s3://{MODELS_BUCKET}/{key}",
            },
            ExecutionRoleArn=settings.role_arn,
            Tags=[{"Key": "walkthrough-run", "Value": run_id}],
        )
        models[run_id] = name
    plan = cleanup.survey(settings, aws)
    rows = {(i.resource, i.kind): i for i in plan.items}
    assert rows[(models[OUR_RUN], "model")].action == "delete"
    assert (models[OTHER_RUN], "model") not in rows
    done = {d.resource: d.outcome for d in cleanup.carry_out(aws, plan)}
    assert done[models[OUR_RUN]] == "deleted"
    left = [m["ModelName"] for m in sm.list_models()["Models"]]
    assert models[OUR_RUN] not in left and models[OTHER_RUN] in left
    again = cleanup.survey(settings, aws)
    assert not [i for i in cleanup.leftovers(again) if i.kind == "model"]
    sm.delete_model(ModelName=models[OTHER_RUN])


def test_transform_jobs_a_finished_one_is_a_record_a_running_one_is_stopped() -> None:
    """Stubbed SageMaker: the recorded transform job (and one never made), then the listings."""
    from botocore.stub import Stubber

    sm = boto3.client("sagemaker", region_name=REGION)
    done_job = f"mini-image-classification-predictions-{OUR_RUN}"
    never = f"mini-image-classification-predictions-{OTHER_RUN}"
    running = "mini-image-classification-predictions-0c0c0c0c"
    runs = {
        OUR_RUN: (_record(OUR_RUN, transform_job=done_job), "local record"),
        OTHER_RUN: (_record(OTHER_RUN, transform_job=never), "local record"),  # failed earlier
    }
    when = "2026-11-30T00:00:00Z"

    def described(name: str, status: str) -> dict[str, Any]:
        return {
            "TransformJobName": name,
            "TransformJobArn": _sm_arn("transform-job", name),
            "TransformJobStatus": status,
            "ModelName": "m",
            "TransformInput": {
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/p/"}}
            },
            "TransformResources": {"InstanceType": "ml.c5.xlarge", "InstanceCount": 1},
            "CreationTime": when,
        }

    with Stubber(sm) as stub:
        for run_id, job in ((OUR_RUN, done_job), (OTHER_RUN, never)):
            for kind in ("labeling", "labeling", "training"):  # not made: never touched
                stub.add_client_error(f"describe_{kind}_job", "ResourceNotFound", "gone")
            if job == done_job:
                stub.add_response(
                    "describe_transform_job",
                    described(job, "Completed"),
                    {"TransformJobName": job},
                )
                tags = [{"Key": "walkthrough-run", "Value": run_id}]
                stub.add_response("list_tags", {"Tags": tags})
            else:
                stub.add_client_error(
                    "describe_transform_job",
                    "ValidationException",
                    f"Could not find requested job with name {job}",
                )
        stub.add_response("list_labeling_jobs", {"LabelingJobSummaryList": []})
        stub.add_response("list_labeling_jobs", {"LabelingJobSummaryList": []})
        stub.add_response("list_training_jobs", {"TrainingJobSummaries": []})
        summary = {
            "TransformJobName": running,
            "TransformJobArn": _sm_arn("transform-job", running),
            "CreationTime": when,
            "TransformJobStatus": "InProgress",
        }
        stub.add_response(
            "list_transform_jobs",
            {"TransformJobSummaries": [summary]},
            {"StatusEquals": "InProgress"},
        )
        stub.add_response("list_tags", {"Tags": [{"Key": "walkthrough-run", "Value": "0c0c0c0c"}]})
        job = described(running, "InProgress")
        job["TransformOutput"] = {"S3OutputPath": f"s3://{MODELS_BUCKET}/p/predictions/0c0c0c0c/"}
        stub.add_response("describe_transform_job", job, {"TransformJobName": running})
        items = cleanup._job_items(sm, runs, cleanup.Scope(MODELS_BUCKET, "p/"))
        stub.assert_no_pending_responses()
    assert [(i.resource, i.kind, i.action) for i in items] == [
        (running, "transform job", "stop"),
        (done_job, "transform job", "keep"),
    ]
    assert items[0].found_by == "tag walkthrough-run=0c0c0c0c and output under the prefix"
    assert cleanup.CANNOT_DELETE in items[1].note and items[1].note.startswith("Completed")
