"""Progress bars: a text bar on stdout by default, a few plain lines with WALKTHROUGH_PROGRESS."""

from __future__ import annotations

import pytest

from helpers.progress import progress


def test_bar_is_ascii_text_on_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    """The default bar writes ascii text to stdout, so a saved notebook keeps it."""
    items = list(progress(range(5), desc="work"))
    out, err = capsys.readouterr()
    assert items == [0, 1, 2, 3, 4]
    assert "work" in out and "5/5" in out and "#" in out
    assert err == ""
    assert out.isascii()


def test_bar_as_context_manager(capsys: pytest.CaptureFixture[str]) -> None:
    """A bar opened with a total counts `update` calls."""
    with progress(total=4, desc="copy") as bar:
        bar.update(3)
        bar.update(1)
    assert "copy" in capsys.readouterr().out
    assert bar.n == 4


def test_plain_prints_a_few_lines(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Plain mode prints at most ~10 `desc: n/total` lines for any number of items."""
    monkeypatch.setenv("WALKTHROUGH_PROGRESS", "plain")
    assert sum(progress(range(1000), desc="rows")) == sum(range(1000))
    lines = capsys.readouterr().out.splitlines()
    assert 2 <= len(lines) <= 11
    assert lines[0] == "rows: 100/1000"
    assert lines[-1] == "rows: 1000/1000"
    assert all(line.startswith("rows: ") for line in lines)


def test_plain_context_manager_and_unknown_total(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Plain mode works with `update` and prints one final line when the total is unknown."""
    monkeypatch.setenv("WALKTHROUGH_PROGRESS", "plain")
    with progress(total=10, desc="copy") as bar:
        for _ in range(10):
            bar.update(1)
    with progress(desc="stream") as bar:
        bar.update(7)
        bar.update(5)
    lines = capsys.readouterr().out.splitlines()
    assert lines[-2] == "copy: 10/10"
    assert lines.count("copy: 10/10") == 1
    assert lines[-1] == "stream: 12/?"


def test_plain_bytes_are_shown_in_megabytes(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A download's plain progress reads in MB rather than raw byte counts."""
    monkeypatch.setenv("WALKTHROUGH_PROGRESS", "plain")
    with progress(total=3_000_000, desc="file.csv", unit="B") as bar:
        bar.update(3_000_000)
    assert capsys.readouterr().out.splitlines() == ["file.csv: 3.0/3.0 MB"]


def test_plain_progress_shows_a_postfix(monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    from helpers.progress import progress

    monkeypatch.setenv("WALKTHROUGH_PROGRESS", "plain")
    bar = progress(total=4, desc="objects labeled", unit="obj")
    bar.set_postfix_str("train 2/4 InProgress")
    bar.update(4)
    bar.close()
    assert "objects labeled: 4/4 obj (train 2/4 InProgress)" in capsys.readouterr().out


class _Timeline:
    """A SageMaker stand-in whose jobs move on one step per poll: train first, then validation."""

    def __init__(self) -> None:
        from botocore.exceptions import ClientError

        self.error = ClientError
        self.poll = -1
        # (train labeled, validation labeled or None while that job does not exist yet), training
        self.steps = [(0, None), (40, None), (80, 0), (80, 19), (80, 20), (80, 20)]

    def client(self, name: str) -> _Timeline:
        return self

    def _missing(self) -> Exception:
        return self.error({"Error": {"Code": "ResourceNotFound", "Message": "no"}}, "Describe")

    def describe_workteam(self, **_: str) -> dict[str, dict[str, str]]:
        self.poll += 1
        return {"Workteam": {"WorkteamArn": "arn:team"}}

    def describe_labeling_job(self, LabelingJobName: str) -> dict[str, object]:  # noqa: N803
        train, validation = self.steps[min(self.poll, len(self.steps) - 1)]
        labeled, count = (train, 80) if LabelingJobName == "t" else (validation, 20)
        if labeled is None:
            raise self._missing()
        counters = {"TotalLabeled": labeled, "FailedNonRetryableError": 0}
        return {
            "LabelingJobName": LabelingJobName,
            "LabelingJobArn": f"arn:aws:sagemaker:us-west-2:1:labeling-job/{LabelingJobName}",
            "LabelingJobStatus": "Completed" if labeled == count else "InProgress",
            "LabelCounters": {**counters, "Unlabeled": count - labeled},
        }

    def local_admin(self, route: str) -> None:
        """No local AWS here (as in aws mode): no tasks wait for people."""
        return None

    def describe_training_job(self, **_: str) -> dict[str, str]:
        if self.poll < len(self.steps) - 1:
            raise self._missing()
        return {
            "TrainingJobName": "m",
            "TrainingJobStatus": "Completed",
            "SecondaryStatus": "Completed",
        }


def test_following_a_run_shows_one_bar_with_both_jobs_total_from_the_start(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The total is both manifests' objects from the first line, and the bar ends once."""
    from helpers import following
    from helpers.records import RunRecord

    monkeypatch.setenv("WALKTHROUGH_PROGRESS", "plain")
    names = {"team": "w", "train_job": "t", "validation_job": "v", "training_job": "m"}
    record = RunRecord("0a0b0c0d", "local", "python", names, {}, "2026-11-30T00:00:00")
    aws = _Timeline()
    polls = iter([None] * 5 + [True])
    following.follow(aws, record, lambda: next(polls), poll_seconds=0, objects=100)
    lines = capsys.readouterr().out.splitlines()
    bar = [line for line in lines if line.startswith("objects labeled")]
    assert all("/100 obj" in line for line in bar), bar  # never 80, never another total
    assert [line for line in bar if line.startswith("objects labeled: 100/100")] == [bar[-1]]
    done = [int(line.split(": ")[1].split("/")[0]) for line in bar]
    assert done == sorted(done)  # never goes back
    assert lines[-1] == "training job m: Completed (Completed)"  # after the bar, not inside it
