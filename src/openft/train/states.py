"""Training states: the Trainer's resumable snapshots, which a job continues from after a pause,
a shutdown or a crash.

A state is what ``Trainer._save_checkpoint`` writes: the adapter or full weights, the optimizer,
the learning-rate scheduler, the RNG states and ``trainer_state.json`` (the global step, from
which the Trainer skips the batches of the current epoch already trained: the data position).
The Trainer writes it into a scratch folder (``scratch/checkpoint-N``); :func:`publish` then
adds ``openft_state.json`` (the step and why it was saved) and renames it to
``states/step-N``. So every folder in ``states/`` is complete, and anything a killed process
left in ``scratch/`` is ignored and cleared by the next start. The newest KEEP_STATES are kept.

Pure Python: no row points to a state, so pruning one never needs the store.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

STEP_PREFIX = "step-"
KEEP_STATES = 2
MARKER = "openft_state.json"  # written last, just before the rename: {"step", "reason"}
TRAINER_STATE = "trainer_state.json"
PAUSE_REASON = "pause"


class StateUnusable(Exception):
    """A saved state the job cannot continue from; the message says why."""


@dataclass(frozen=True)
class SavedState:
    path: Path
    step: int
    reason: str  # "pause", "suspend" (SIGTERM), "checkpoint" or "interval"


def publish(scratch: Path, root: Path, *, step: int, reason: str, keep: int = KEEP_STATES) -> Path:
    """Move the Trainer's freshly written ``scratch`` folder to ``<root>/step-<step>`` (a rename, so
    it appears complete or not at all) and prune the older states."""
    root.mkdir(parents=True, exist_ok=True)
    (scratch / MARKER).write_text(json.dumps({"step": step, "reason": reason}))
    target = root / f"{STEP_PREFIX}{step}"
    try:
        os.rename(scratch, target)
    except OSError:
        if not (target / MARKER).is_file():
            raise
        shutil.rmtree(scratch, ignore_errors=True)  # that step's state was published already
    for old in list_states(root)[:-keep]:
        shutil.rmtree(old.path, ignore_errors=True)
    return target


def list_states(root: Path) -> list[SavedState]:
    """The complete states under ``root``, oldest first."""
    if not Path(root).is_dir():
        return []
    found = []
    for path in Path(root).iterdir():
        number = path.name.removeprefix(STEP_PREFIX)
        if path.name.startswith(STEP_PREFIX) and number.isdigit() and (path / MARKER).is_file():
            found.append(SavedState(path, int(number), _reason(path)))
    return sorted(found, key=lambda state: state.step)


def latest(root: Path) -> SavedState | None:
    states = list_states(root)
    return states[-1] if states else None


def _reason(path: Path) -> str:
    try:
        return str(json.loads((path / MARKER).read_text()).get("reason", ""))
    except (OSError, ValueError, AttributeError):
        return ""


def check(state: SavedState, *, total_steps: int) -> None:
    """Raise StateUnusable unless ``state`` is one this run of ``total_steps`` can continue from."""
    try:
        saved = json.loads((state.path / TRAINER_STATE).read_text())
    except (OSError, ValueError) as exc:
        raise StateUnusable(f"its {TRAINER_STATE} cannot be read ({exc})") from exc
    if not isinstance(saved, dict) or saved.get("global_step") != state.step:
        raise StateUnusable(f"its {TRAINER_STATE} is not the state of step {state.step}")
    if saved.get("max_steps") != total_steps:
        raise StateUnusable(
            f"it was saved by a run of {saved.get('max_steps')} steps, and this run has {total_steps}"
        )


def clear(directory: Path) -> None:
    """Remove a folder of unfinished states (the Trainer's scratch), if there is one."""
    shutil.rmtree(directory, ignore_errors=True)
