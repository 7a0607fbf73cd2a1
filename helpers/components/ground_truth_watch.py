"""The official set's labeling step: the official Ground Truth program, watched with its siblings.

Run on the official components image as `python3 -c <this file> [--watch_job_names NAMES]
PROGRAM FLAGS...` (`helpers.components.official()` puts it in the ground_truth spec's command):
it starts PROGRAM (the image's `ground_truth/src/sagemaker_ground_truth_component.py`) with
exactly FLAGS, the flags the spec passed to it before, and waits for it. Meanwhile it watches the
run's other labeling jobs (NAMES, comma-separated) with DescribeLabelingJob; when one of them has
failed or was stopped, the run cannot train any more, so it stops its own job (StopLabelingJob;
the official 1.1.2 program then sees Stopped and exits non-zero) and exits non-zero with the
reason. A SIGTERM (the run terminated) goes to the program, which stops its job itself; so does
our own SIGTERM when the job's name is left to the program (`--job_name ""`: a name it makes up).

Python 3.7, the standard library, and boto3 1.14 / botocore 1.17 calls only (the image's own
python3 runs it; nothing is installed); tests check both. `--poll_seconds` and `--grace_seconds`
exist for tests; the spec never sets them.
"""

import signal
import subprocess
import sys
import time

#: Seconds between looks at the watched jobs (the official program looks every 30 s).
POLL_SECONDS = 30.0
#: Seconds the program gets to exit by itself once its stopped job has ended, before SIGTERM
#: (and as long again before SIGKILL).
GRACE_SECONDS = 120.0
RUNNING = ("Initializing", "InProgress")


def split_arguments(argv):
    """Our `--name value` options, the program, and the program's flags (untouched)."""
    options = {}
    index = 0
    while index < len(argv) and argv[index].startswith("--"):
        if index + 1 >= len(argv):
            raise SystemExit(f"option {argv[index]} has no value")
        options[argv[index][2:]] = argv[index + 1]
        index += 2
    if index >= len(argv):
        raise SystemExit("usage: [--watch_job_names NAMES] PROGRAM [FLAGS...]")
    return options, argv[index], list(argv[index + 1 :])


def _missing(error):
    """Whether a DescribeLabelingJob error says the job does not exist (and only that)."""
    code = error.response.get("Error", {}).get("Code", "")
    message = error.response.get("Error", {}).get("Message", "").lower()
    return code == "ResourceNotFound" or (
        code == "ValidationException" and ("does not exist" in message or "not found" in message)
    )


def sagemaker_client(region, endpoint_url, assume_role):
    """A SageMaker client as the official program makes it (region, endpoint, assumed role)."""
    import boto3

    session = boto3.session.Session(region_name=region or None)
    if assume_role:
        sts = session.client("sts", region_name=region or None)
        credentials = sts.assume_role(RoleArn=assume_role, RoleSessionName="kfp-ground-truth")[
            "Credentials"
        ]
        session = boto3.session.Session(
            region_name=region or None,
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
        )
    sagemaker = session.client("sagemaker", endpoint_url=endpoint_url or None)
    return sagemaker


def sibling_failure(sagemaker, names, unwatchable):
    """How the first watched job that ended Failed or Stopped ended; '' when none did."""
    from botocore.exceptions import BotoCoreError, ClientError

    for name in names:
        try:
            job = sagemaker.describe_labeling_job(LabelingJobName=name)
        except BotoCoreError as error:  # no answer (a network error): look again next time
            if (name, type(error).__name__) not in unwatchable:
                print(f"Cannot watch labeling job {name}: {error}", flush=True)
                unwatchable.add((name, type(error).__name__))
            continue
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if not _missing(error) and (name, code) not in unwatchable:
                print(f"Cannot watch labeling job {name}: {error}", flush=True)
                unwatchable.add((name, code))
            continue  # not created yet (kfp.local runs the labeling tasks one by one)
        status = job["LabelingJobStatus"]
        if status in ("Failed", "Stopped"):
            reason = job.get("FailureReason", "no reason given")
            return f"the run's other labeling job {name} {status.lower()}: {reason}"
    return ""


def stop_own(sagemaker, name):
    """Stop our job if it still runs; return its status ('' when it does not exist yet)."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        status = sagemaker.describe_labeling_job(LabelingJobName=name)["LabelingJobStatus"]
        if status in RUNNING:
            sagemaker.stop_labeling_job(LabelingJobName=name)
            print(f"Stopped labeling job {name} (it was {status})", flush=True)
            return "Stopping"
        return status
    except BotoCoreError as error:
        print(f"Could not stop labeling job {name}: {error}", flush=True)
        return "unknown"
    except ClientError as error:
        if _missing(error):
            return ""
        print(f"Could not stop labeling job {name}: {error}", flush=True)
        return "unknown"


def main(argv=None):
    """Run the program, watch the sibling jobs, stop ours when one failed; return the exit code."""
    options, program, flags = split_arguments(sys.argv[1:] if argv is None else argv)
    given = dict(zip(flags[0::2], flags[1::2]))  # noqa: B905 - no `strict` in Python 3.7
    job_name = given.get("--job_name", "")
    names = [
        n.strip()
        for n in options.get("watch_job_names", "").split(",")
        if n.strip() and n.strip().lower() != job_name.lower()
    ]
    poll = float(options.get("poll_seconds", POLL_SECONDS))
    grace = float(options.get("grace_seconds", GRACE_SECONDS))
    sagemaker = None
    if names:
        sagemaker = sagemaker_client(
            given.get("--region", ""),
            given.get("--endpoint_url", ""),
            given.get("--assume_role", ""),
        )
        print("Watching the run's other labeling jobs: {}".format(", ".join(names)), flush=True)
    child = subprocess.Popen([sys.executable, program] + flags)

    def forward(signum, frame):
        # the run is terminated: the official program stops its own job on SIGTERM
        child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    reason = ""
    unwatchable = set()
    ended_at = None
    terminated_at = None
    while True:
        try:
            child.wait(timeout=poll)
            break
        except subprocess.TimeoutExpired:
            pass
        if names and not reason:
            reason = sibling_failure(sagemaker, names, unwatchable)
            if reason:
                print(f"Stopping this labeling job: {reason}", flush=True)
        if not reason:
            continue
        now = time.monotonic()
        if job_name:
            status = stop_own(sagemaker, job_name)
            if status not in RUNNING + ("Stopping",) and ended_at is None:
                ended_at = now
        elif terminated_at is None:  # a name the program makes up: it stops its job itself
            child.terminate()
            terminated_at = now
        if ended_at is not None and terminated_at is None and now - ended_at > grace:
            print("The program did not exit after its job ended: terminating it", flush=True)
            child.terminate()
            terminated_at = now
        elif terminated_at is not None and now - terminated_at > grace:
            child.kill()
    code = child.returncode
    if not reason:
        return code
    if job_name:
        stop_own(sagemaker, job_name)  # created at the last moment
    if code == 0:
        print(f"Labeling job {job_name} completed before it could be stopped; but {reason}")
        return 0
    sys.stderr.write(f"Labeling job {job_name} stopped because {reason}\n")
    return 1
