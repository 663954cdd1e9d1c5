"""`python`: the user's `grade(sample, item) -> float`, run in the sandbox.

Anything but a finite number back (an exception, a wrong type, a crash, a limit hit, an
escape attempt the sandbox refused, a NaN or infinite score written to the result descriptor
by the grader itself) is a `python_grader_runtime_error` with details (the traceback, or what
stopped the process) and reward 0, as OpenAI documents: the server checks the score, never
trusting the runner, which the grader's code shares a process with. A sandbox that cannot run
(bubblewrap missing under `auto`, say) is a `python_grader_server_error` whose type says why and
what to do; a run whose client went away is stopped (`unresponsive_reward_error`).
"""

from __future__ import annotations

import json
import logging
import math
import signal
import threading
from typing import NoReturn

from openft.graders.result import GraderFailure
from openft.graders.sample import Namespaces
from openft.graders.sandbox import Sandbox, SandboxLimits, SandboxUnavailable
from openft.graders.supervisor import Exit
from openft.schemas.graders import PythonGrader

__all__ = ["grade_python", "score_of"]

log = logging.getLogger("openft.graders")
OUTPUT_TAIL = 2000
_SIGNALS: dict[int, str] = {
    signal.SIGXCPU: "used up its CPU time limit",
    signal.SIGXFSZ: "wrote a file larger than the disk limit",
    signal.SIGKILL: "was killed (SIGKILL)",
    signal.SIGSEGV: "crashed (SIGSEGV)",
}


def grade_python(
    grader: PythonGrader, names: Namespaces, sandbox: Sandbox, cancel: threading.Event | None = None
) -> float:
    try:
        outcome = sandbox.run(grader.source, _plain(names.sample), _plain(names.item), cancel=cancel)
    except SandboxUnavailable as exc:
        raise GraderFailure("python_grader_server_error", f"sandbox_unavailable: {exc}") from None
    except OSError as exc:  # the sandbox process could not be started at all
        log.error("python grader not run: %s", exc)
        raise GraderFailure("python_grader_server_error", "sandbox_start_failed") from None
    return score_of(outcome, sandbox.limits)


def _plain(value):
    return json.loads(json.dumps(value))


def score_of(outcome: Exit, limits: SandboxLimits) -> float:
    """The score the runner reported, or a GraderFailure saying why there is none."""
    if outcome.cancelled:
        raise GraderFailure("unresponsive_reward_error")
    if outcome.overflow:
        _runtime(
            f"the grader wrote more than {limits.max_output_bytes} bytes to {outcome.overflow}; "
            "it was stopped",
            outcome,
        )
    if outcome.timed_out:
        _runtime(
            f"the grader did not finish within {limits.timeout_seconds:g} s (the time limit); it was stopped",
            outcome,
        )
    result = _result(outcome.stdout)
    if result is None:
        if not outcome.stdout and outcome.stderr.startswith(b"bwrap:"):
            log.error("sandbox failed: %s", outcome.stderr.decode(errors="replace").strip())
            raise GraderFailure("python_grader_server_error", "sandbox_error")
        if outcome.stdout:
            _runtime(f"the grader reported {_shown(outcome.stdout)} instead of a finite score", outcome)
        _runtime(_how_it_ended(outcome.returncode), outcome)
    if "error" in result:
        _runtime(str(result["error"]), outcome)
    return result["score"]


def _result(stdout: bytes) -> dict | None:
    """{"score": a finite float} or {"error": ...}; None for anything else (NaN, 1e999, true)."""
    try:
        result = json.loads(stdout)
    except (ValueError, RecursionError):
        return None
    if not isinstance(result, dict):
        return None
    score = result.get("score")
    if type(score) is float and math.isfinite(score):
        return result
    return result if "error" in result and "score" not in result else None


def _shown(stdout: bytes) -> str:
    text = stdout.decode(errors="replace")
    return repr(text if len(text) <= 200 else text[:200] + "...")


def _how_it_ended(returncode: int | None) -> str:
    if returncode is not None and returncode < 0:
        number = -returncode
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = f"signal {number}"
        what = _SIGNALS.get(number, f"was killed by {name}")
        return f"the grader process {what} before returning a score"
    return f"the grader process exited with status {returncode} before returning a score"


def _runtime(details: str, outcome: Exit) -> NoReturn:
    output = outcome.stderr.decode(errors="replace")
    if output.strip():
        tail = output[-OUTPUT_TAIL:]
        details += f"\n--- grader output (last {len(tail)} characters) ---\n{tail}"
    raise GraderFailure("python_grader_runtime_error", details)
