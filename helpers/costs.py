"""What a run costs on AWS: Ground Truth's fee per object, a public workforce's task fees, the
training instance's billable time and the batch transform instance's time.

Ground Truth charges per labeled object. A private workforce (this walkthrough's) adds no worker
fee; a public (Amazon Mechanical Turk) workforce adds a price per task for every worker who
answers, so an object sent to 3 workers costs 3 task prices on top of the object fee.

The default prices are notebook parameters; change them there, not here, when AWS's prices move.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

#: Ground Truth's price per labeled object (USD) for the first 50,000 objects in a month.
GROUND_TRUTH_PRICE_PER_OBJECT = 0.08
#: Objects per month that the price above covers; beyond that AWS charges less per object.
GROUND_TRUTH_FIRST_TIER_OBJECTS = 50_000
#: A public workforce's price per task per worker (USD): the lowest allowed for classification.
PUBLIC_TASK_PRICE = 0.012
#: Where the default prices come from, and when they were written down.
PRICES_SOURCE = (
    "AWS Ground Truth pricing page, as used in the AWS image-classification example; "
    "check the current page (https://aws.amazon.com/sagemaker/groundtruth/pricing/)"
)
PRICES_AS_OF = "2026-11-28"
#: On-demand SageMaker training prices, USD per instance-hour (us-east-1), for the GPU types the
#: walkthrough suggests, as last recorded here: not re-checked against the live pricing page
#: (no network where this was written). Other regions differ; an unknown type gets no price.
TRAINING_PRICE_PER_HOUR = {
    "ml.p3.2xlarge": 3.825,
    "ml.g4dn.xlarge": 0.7364,
    "ml.g5.xlarge": 1.408,
}
TRAINING_PRICES_SOURCE = "https://aws.amazon.com/sagemaker/pricing/ (training, on-demand)"
TRAINING_PRICES_AS_OF = "2026-11-30"
TRAINING_PRICES_NOTE = f"recorded {TRAINING_PRICES_AS_OF}, not re-checked: confirm on that page"
#: On-demand SageMaker batch transform prices, USD per instance-hour, for the walkthrough's
#: default transform type (the same price in us-east-1 and us-west-2), as last recorded here:
#: not re-checked against the live pricing page (no network where this was written). Other
#: regions differ; an unknown type gets no price.
TRANSFORM_PRICE_PER_HOUR = {
    "ml.c5.xlarge": 0.204,
}
TRANSFORM_PRICES_SOURCE = (
    "https://aws.amazon.com/sagemaker/pricing/ (inference, batch transform, on-demand)"
)
TRANSFORM_PRICES_AS_OF = "2026-11-30"
TRANSFORM_PRICES_NOTE = f"recorded {TRANSFORM_PRICES_AS_OF}, not re-checked: confirm on that page"
#: The columns of the instances' cost table (training and predictions, one row each).
INSTANCE_COLUMNS = (
    "step",
    "job",
    "instance type",
    "instances",
    "billed seconds",
    "price per instance-hour (USD)",
    "cost (USD)",
    "price as of",
)


@dataclass(frozen=True)
class Prices:
    """The prices a cost estimate uses (USD)."""

    per_object: float = GROUND_TRUTH_PRICE_PER_OBJECT
    task_price: float = PUBLIC_TASK_PRICE
    workers_per_object: int | None = None  # None: as many as the jobs used


def prices(
    per_object: float | None = None,
    task_price: float | None = None,
    workers_per_object: int | None = None,
) -> Prices:
    """Return the prices to use: the notebook's parameters where given, else the defaults."""
    chosen = Prices(
        per_object=GROUND_TRUTH_PRICE_PER_OBJECT if per_object is None else float(per_object),
        task_price=PUBLIC_TASK_PRICE if task_price is None else float(task_price),
        workers_per_object=None if workers_per_object is None else int(workers_per_object),
    )
    if chosen.per_object < 0 or chosen.task_price < 0:
        raise ValueError(f"prices must not be negative: {chosen}")
    if chosen.workers_per_object is not None and not 1 <= chosen.workers_per_object <= 9:
        raise ValueError("workers_per_object must be between 1 and 9 (Ground Truth's limit)")
    return chosen


def ground_truth_fee(objects: int, price: Prices) -> float:
    """Ground Truth's fee for `objects` labeled objects (any workforce)."""
    return round(objects * price.per_object, 4)


def public_task_fee(objects: int, workers_per_object: int, price: Prices) -> float:
    """What a public workforce's workers earn for `objects` objects, each answered by N workers."""
    return round(objects * workers_per_object * price.task_price, 4)


def labeling_costs(jobs: pd.DataFrame, price: Prices) -> pd.DataFrame:
    """Cost per job and in total; `jobs` has columns job, split, objects, workers_per_object."""
    workers = (
        jobs["workers_per_object"]
        if price.workers_per_object is None
        else pd.Series(price.workers_per_object, index=jobs.index)
    )
    table = pd.DataFrame(
        {
            "job": jobs["job"],
            "split": jobs["split"],
            "objects labeled": jobs["objects"].astype(int),
            "Ground Truth fee, private workforce (USD)": (jobs["objects"] * price.per_object),
            "public workers per object": workers.astype(int),
            "public workforce task fees (USD)": jobs["objects"] * workers * price.task_price,
        }
    )
    fee, tasks = table.columns[3], table.columns[5]
    table["total with a public workforce (USD)"] = table[fee] + table[tasks]
    total = table.select_dtypes("number").sum().to_frame().T
    total[["job", "split"]] = ["all jobs", ""]
    total["public workers per object"] = table["public workers per object"].max()
    table = pd.concat([table, total[table.columns]], ignore_index=True).round(4)
    counts = ["objects labeled", "public workers per object"]
    return table.astype(dict.fromkeys(counts, int))


def beyond_first_tier(objects: int) -> bool:
    """True when the objects exceed the first price tier (the estimate then overstates a bit)."""
    return objects > GROUND_TRUTH_FIRST_TIER_OBJECTS


def instance_cost(seconds: float | None, count: int, hourly: float | None) -> float | None:
    """Seconds x instances x the hourly price, in USD; None without a price or a time."""
    return None if hourly is None or seconds is None else round(seconds * count * hourly / 3600, 4)


def training_cost(training: Mapping[str, Any]) -> pd.DataFrame:
    """The training job's cost: billable seconds x instances x the instance type's hourly price.

    A type with no price on file, or a job with no billable time yet, gets no cost (never a
    made-up one); the table says when the price was written down (TRAINING_PRICES_SOURCE where).
    """
    resources = training["ResourceConfig"]
    kind, count = resources["InstanceType"], int(resources.get("InstanceCount", 1))
    seconds = training.get("BillableTimeInSeconds")
    hourly = TRAINING_PRICE_PER_HOUR.get(kind)
    cost = instance_cost(seconds, count, hourly)
    return pd.DataFrame(
        [
            {
                "training job": training["TrainingJobName"],
                "instance type": kind,
                "instances": count,
                "billable seconds": seconds,
                "price per instance-hour (USD)": hourly,
                "training cost (USD)": cost,
                "price as of": TRAINING_PRICES_AS_OF if hourly is not None else "no price on file",
            }
        ]
    )


def transform_seconds(job: Mapping[str, Any]) -> int | None:
    """The batch transform's billed time: TransformStartTime to TransformEndTime, in seconds.

    None while the job has not started or not ended (no billed time to show yet).
    """
    started, ended = job.get("TransformStartTime"), job.get("TransformEndTime")
    if started is None or ended is None:
        return None
    return max(0, round((ended - started).total_seconds()))


def transform_cost(job: Mapping[str, Any]) -> pd.DataFrame:
    """The batch transform job's cost: billed seconds x instances x the type's hourly price.

    As for training, a type with no price on file, or a job with no end time yet, gets no cost
    (never a made-up one); the table says when the price was written down.
    """
    resources = job.get("TransformResources", {})
    kind, count = resources.get("InstanceType", ""), int(resources.get("InstanceCount", 1))
    seconds = transform_seconds(job)
    hourly = TRANSFORM_PRICE_PER_HOUR.get(kind)
    cost = instance_cost(seconds, count, hourly)
    return pd.DataFrame(
        [
            {
                "transform job": job["TransformJobName"],
                "instance type": kind,
                "instances": count,
                "billed seconds": seconds,
                "price per instance-hour (USD)": hourly,
                "transform cost (USD)": cost,
                "price as of": TRANSFORM_PRICES_AS_OF if hourly is not None else "no price on file",
            }
        ]
    )


def instance_costs(
    training: pd.DataFrame | None, transform: pd.DataFrame | None = None
) -> pd.DataFrame:
    """The SageMaker instances' costs in one table: a row for training, one for predictions."""
    rows = []
    for step, table, job, cost, seconds in (
        ("training", training, "training job", "training cost (USD)", "billable seconds"),
        ("predictions", transform, "transform job", "transform cost (USD)", "billed seconds"),
    ):
        if table is None:
            continue
        row = table.iloc[0]
        rows.append(
            {
                "step": step,
                "job": row[job],
                "instance type": row["instance type"],
                "instances": row["instances"],
                "billed seconds": row[seconds],
                "price per instance-hour (USD)": row["price per instance-hour (USD)"],
                "cost (USD)": row[cost],
                "price as of": row["price as of"],
            }
        )
    return pd.DataFrame(rows, columns=list(INSTANCE_COLUMNS))


def _instance_cost(table: pd.DataFrame | None, column: str) -> float | None:
    """One instance table's cost (0 without the table, None when it has no cost)."""
    if table is None:
        return 0.0
    value = table[column].iloc[0]
    return None if value is None or pd.isna(value) else float(value)


def run_total(
    labeling: pd.DataFrame, training: pd.DataFrame | None, transform: pd.DataFrame | None = None
) -> dict[str, float | None]:
    """The run's cost with each workforce: labeling's total plus training and predictions."""
    totals = labeling.iloc[-1]
    trained = _instance_cost(training, "training cost (USD)")
    predicted = _instance_cost(transform, "transform cost (USD)")
    known = trained is not None and predicted is not None
    instances = (trained or 0.0) + (predicted or 0.0)
    private = float(totals["Ground Truth fee, private workforce (USD)"])
    public = float(totals["total with a public workforce (USD)"])
    return {
        "private workforce (USD)": round(private + instances, 4) if known else None,
        "public workforce (USD)": round(public + instances, 4) if known else None,
    }


def label_studio_line(training: pd.DataFrame | None, transform: pd.DataFrame | None = None) -> str:
    """One sentence for a run labeled in Label Studio: no per-object fee; training, predictions."""
    costs = [
        _instance_cost(training, "training cost (USD)"),
        _instance_cost(transform, "transform cost (USD)"),
    ]
    known = None if None in costs else sum(c or 0.0 for c in costs)
    instances = f"{known:.2f} USD" if known is not None else "unknown (no price or time on file)"
    return (
        f"**The run on AWS** (training and predictions): {instances}. Labeling in Label Studio "
        "has no per-object fee: it costs your cluster's pods and storage while they run, and "
        "your annotators' time."
    )


def total_line(
    labeling: pd.DataFrame, training: pd.DataFrame | None, transform: pd.DataFrame | None = None
) -> str:
    """One sentence: what the run (labeling, training, predictions) costs with each workforce."""
    unpriced = [
        step
        for step, table, column in (
            ("training", training, "training cost (USD)"),
            ("predictions", transform, "transform cost (USD)"),
        )
        if _instance_cost(table, column) is None
    ]
    parts = []
    for who, value in run_total(labeling, training, transform).items():
        kind = who.removesuffix(" (USD)")
        parts.append(
            f"{value:.2f} USD with a {kind}"
            if value is not None
            else f"unknown with a {kind} (no {' or '.join(unpriced)} price or time on file)"
        )
    steps = ["labeling"] + ["training"] * (training is not None)
    steps += ["predictions"] * (transform is not None)
    what = steps[0] if len(steps) == 1 else ", ".join(steps[:-1]) + " and " + steps[-1]
    return f"**The run on AWS** ({what}): " + "; ".join(parts) + "."


# --- automated data labeling ----------------------------------------------------------------------

#: What automated data labeling adds per labeling job: the service trains a model and runs batch
#: inference with it, a few rounds per job, on instances it chooses and bills to you. AWS does not
#: publish the types or hours, so this estimate assumes one hour of the walkthrough's default
#: training type per job; the job's real training and transform jobs (DescribeTrainingJob and
#: DescribeTransformJob name the labeling job that created them) show what it ran.
AUTO_LABELING_INSTANCE_TYPE = "ml.p3.2xlarge"
AUTO_LABELING_HOURS_PER_JOB = 1.0
AUTO_LABELING_NOTE = (
    f"an assumption: {AUTO_LABELING_HOURS_PER_JOB:g} hour of {AUTO_LABELING_INSTANCE_TYPE} per "
    "labeling job for the service's training and batch inference (AWS publishes neither)"
)


def auto_labeling_instance_cost(jobs: int) -> float:
    """The estimated instance cost (USD) automated data labeling adds to `jobs` labeling jobs."""
    hourly = TRAINING_PRICE_PER_HOUR[AUTO_LABELING_INSTANCE_TYPE]
    return round(jobs * AUTO_LABELING_HOURS_PER_JOB * hourly, 4)


def submission_estimate(objects: int, jobs: int, auto_labeling: bool, price: Prices) -> str:
    """One sentence: a submission's estimated labeling cost in dollars, before it is made."""
    fee = ground_truth_fee(objects, price)
    text = (
        f"about {fee:,.2f} USD for labeling ({objects:,} objects x {price.per_object:g} USD per "
        f"object, Ground Truth's price as of {PRICES_AS_OF})"
    )
    if auto_labeling:
        added = auto_labeling_instance_cost(jobs)
        text += (
            f" plus about {added:,.2f} USD of instances for automated data labeling "
            f"({AUTO_LABELING_NOTE})"
        )
    return text


#: The columns of automated labeling's effect (one row per labeling job, and a total).
AUTO_LABELING_COLUMNS = (
    "job",
    "machine-labeled objects",
    "worker-hours saved",
    "public workforce task fees saved (USD)",
    "instance cost added (USD, estimate)",
    "net, private workforce (USD)",
    "net, public workforce (USD)",
)


def auto_labeling_effect(jobs: pd.DataFrame, price: Prices) -> pd.DataFrame:
    """What automated labeling changed per job and in total.

    `jobs` has columns job, machine_labeled, workers_per_object and seconds_per_task (the
    human answers' mean time). A machine-labeled object was not sent to workers: their time and,
    with a public workforce, their task fees are saved; Ground Truth's fee per labeled object is
    charged either way. A private workforce is paid by you (its hours), not per task, so in
    dollars it saves nothing here and the net is the instance cost, negative.
    """
    workers = (
        jobs["workers_per_object"]
        if price.workers_per_object is None
        else pd.Series(price.workers_per_object, index=jobs.index)
    )
    machine = jobs["machine_labeled"].astype(int)
    hours = machine * workers * jobs["seconds_per_task"].fillna(0.0) / 3600
    fees = machine * workers * price.task_price
    added = pd.Series([auto_labeling_instance_cost(1)] * len(jobs), index=jobs.index, dtype=float)
    table = pd.DataFrame(
        {
            "job": jobs["job"],
            "machine-labeled objects": machine,
            "worker-hours saved": hours.round(2),
            "public workforce task fees saved (USD)": fees.round(4),
            "instance cost added (USD, estimate)": added,
            "net, private workforce (USD)": (-added).round(4),
            "net, public workforce (USD)": (fees - added).round(4),
        }
    )
    total = {"job": "total", **{c: table[c].sum() for c in AUTO_LABELING_COLUMNS[1:]}}
    return pd.concat([table, pd.DataFrame([total])], ignore_index=True)
