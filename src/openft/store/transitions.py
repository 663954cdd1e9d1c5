"""The job status machine (reference section 3.2) in one table.

``TRANSITIONS[action]`` maps each status the action is allowed from to the status it leads to.
Anything not in the table is refused with a 400 (never a 409: the SDK retries 409).
"""

from __future__ import annotations

VALIDATING = "validating_files"
QUEUED = "queued"
RUNNING = "running"
PAUSED = "paused"
SUCCEEDED = "succeeded"
FAILED = "failed"
CANCELLED = "cancelled"

TERMINAL = frozenset({SUCCEEDED, FAILED, CANCELLED})

TRANSITIONS: dict[str, dict[str, str]] = {
    "validate": {VALIDATING: QUEUED},
    "start": {QUEUED: RUNNING},
    "requeue": {RUNNING: QUEUED},  # a worker vanished; another one picks the job up
    "succeed": {RUNNING: SUCCEEDED},
    "fail": {VALIDATING: FAILED, QUEUED: FAILED, RUNNING: FAILED, PAUSED: FAILED},
    "cancel": {VALIDATING: CANCELLED, QUEUED: CANCELLED, RUNNING: CANCELLED, PAUSED: CANCELLED},
    "pause": {RUNNING: PAUSED},
    "resume": {PAUSED: QUEUED},
}


class TransitionRefused(Exception):
    def __init__(self, action: str, status: str):
        super().__init__(f"cannot {action} a job that is {status}")
        self.action = action
        self.status = status


def next_status(action: str, status: str) -> str:
    try:
        return TRANSITIONS[action][status]
    except KeyError:
        raise TransitionRefused(action, status) from None


def sources(action: str) -> frozenset[str]:
    """The statuses ``action`` may start from (for conditional UPDATE ... WHERE status IN ...)."""
    return frozenset(TRANSITIONS[action])
