"""Access to Ground Truth: closed to new customers, and telling such a refusal from an IAM one.

AWS's Ground Truth pages (checked 2026-11-30, e.g. "Use input and output data",
https://docs.aws.amazon.com/sagemaker/latest/dg/sms-data.html) say that new customer access to
Ground Truth closed on 2026-07-30 and that existing customers continue to use it as normal.
AWS does not document how it refuses an account without access; we take it to answer the
Ground Truth calls with an access-denied error whose message does not name an IAM permission
(IAM's own refusals read "User: ... is not authorized to perform: <action> ...").
"""

from __future__ import annotations

from botocore.exceptions import ClientError

CLOSED_ON = "2026-07-30"
CHECKED_ON = "2026-11-30"
SOURCE = "https://docs.aws.amazon.com/sagemaker/latest/dg/sms-data.html"
CLOSURE = (
    f"Ground Truth is no longer open to new customers (since {CLOSED_ON}; AWS's Ground Truth "
    f"pages, checked {CHECKED_ON}); existing customers continue as normal"
)
LOCAL_MODE = (
    "local mode (mode='local', `make demo`) runs the whole walkthrough without Ground Truth access"
)
#: The calls that need Ground Truth access (the workteam and labeling jobs, and their look-ups).
OPERATIONS = frozenset(
    {
        "CreateWorkforce",
        "CreateWorkteam",
        "CreateLabelingJob",
        "ListWorkforces",
        "ListWorkteams",
        "ListLabelingJobs",
        "DescribeLabelingJob",
    }
)
_DENIED = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"})
#: How IAM words a refusal of the caller's own permissions (identity policies, SCPs, boundaries).
IAM_WORDING = "is not authorized to perform"


def is_account_refusal(exc: ClientError) -> bool:
    """True when a Ground Truth call was refused for the account, not for a missing permission."""
    error = exc.response.get("Error", {})
    message = str(error.get("Message", ""))
    return (
        exc.operation_name in OPERATIONS
        and str(error.get("Code", "")) in _DENIED
        and IAM_WORDING not in message
    )


def refusal_note(operation: str, message: str) -> str:
    """What a refused Ground Truth call means, and the way to run the walkthrough without it."""
    return (
        f"{operation} was refused for the account ({message}). {CLOSURE}: an account that never "
        "used Ground Truth may not get access. Ask AWS (your account team or AWS Support) "
        f"whether this account has Ground Truth access; meanwhile {LOCAL_MODE}."
    )


def explain(exc: ClientError) -> str | None:
    """The note for an account refusal of a Ground Truth call, or None for any other error."""
    if not is_account_refusal(exc):
        return None
    return refusal_note(exc.operation_name, str(exc.response.get("Error", {}).get("Message", "")))


def refusal_in_log(text: str) -> str | None:
    """The note for a Ground Truth create call refused in a pipeline step's log, or None."""
    for line in text.splitlines():
        for operation in ("CreateLabelingJob", "CreateWorkforce", "CreateWorkteam"):
            said = f"{operation} was refused for the account ("
            if said in line:  # the Python set's own explanation
                return refusal_note(operation, line.split(said, 1)[1].split(")", 1)[0])
            marker = f"when calling the {operation} operation:"
            if marker in line and "AccessDenied" in line and IAM_WORDING not in line:
                return refusal_note(operation, line.split(marker, 1)[1].strip())
    return None
