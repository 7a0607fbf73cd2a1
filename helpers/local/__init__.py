"""The embedded local AWS: one loopback endpoint (moto plus our SageMaker layer) for local mode.

`python -m helpers.local start|stop|status` manages it; notebooks call `ensure_running()`
through `helpers.aws.connect`. Inside, it is laid out like the services it stands in for:
`sagemaker/`, `iam/`, `standins/` (simulated workers, the stand-in classifier), `openimages/`
(the mirror), with every setting in one `config.LocalConfig`.
"""

from __future__ import annotations

from helpers.local.admin import (
    clear_faults,
    drive_clock,
    fault_stats,
    health,
    request_counts,
    reset_request_counts,
    set_faults,
)
from helpers.local.process import ensure_running, start, status, stop

__all__ = [
    "clear_faults",
    "drive_clock",
    "fault_stats",
    "ensure_running",
    "health",
    "request_counts",
    "reset_request_counts",
    "set_faults",
    "start",
    "status",
    "stop",
]
