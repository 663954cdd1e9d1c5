"""Checkpoints: a model (LoRA adapter or full weights) plus tokenizer written to a directory.

Writes go to a temporary sibling first and are renamed into place, so a reader (the serve
engine, the worker registering checkpoints) never sees a half-written directory. Epoch
checkpoints live in ``<root>/step-N/`` and only the last ``keep`` are kept, as OpenAI keeps
the last three epochs; reinforcement checkpoints (one per evaluation) carry their validation
reward in ``validation_reward.json`` and the ``keep`` best are kept (a tie keeps the later step).
"""

import json
import shutil
import tempfile
from pathlib import Path

from peft import PeftModel

STEP_PREFIX = "step-"
KEEP_CHECKPOINTS = 3
SCORE_FILE = "validation_reward.json"


def save_model(model, tokenizer, target: Path) -> Path:
    """Save ``model`` and ``tokenizer`` into ``target`` (replacing it), atomically."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        _save_weights(model, scratch)
        tokenizer.save_pretrained(scratch)
        scratch.chmod(0o755)
        if target.exists():
            shutil.rmtree(target)
        scratch.rename(target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return target


def _save_weights(model, directory: Path) -> None:
    """Full weights, or the adapter being trained only (DPO keeps a frozen reference copy beside it)."""
    if isinstance(model, PeftModel):
        model.save_pretrained(str(directory), selected_adapters=[model.active_adapter])
    else:
        model.save_pretrained(directory)


def save_checkpoint(model, tokenizer, root: Path, step: int, *, keep: int = KEEP_CHECKPOINTS) -> Path:
    """Save ``<root>/step-<step>/`` and delete all but the ``keep`` latest step directories."""
    path = save_model(model, tokenizer, Path(root) / f"{STEP_PREFIX}{step}")
    for old in list_checkpoints(root)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return path


def list_checkpoints(root: Path) -> list[Path]:
    """The step directories under ``root``, oldest step first."""
    root = Path(root)
    if not root.is_dir():
        return []
    steps = [p for p in root.iterdir() if p.is_dir() and p.name.removeprefix(STEP_PREFIX).isdigit()]
    return sorted(steps, key=lambda p: int(p.name.removeprefix(STEP_PREFIX)))


def save_scored_checkpoint(
    model, tokenizer, root: Path, step: int, score: float, *, keep: int = KEEP_CHECKPOINTS
) -> Path | None:
    """Save ``<root>/step-<step>/`` with its validation reward and keep the ``keep`` best-scored
    step directories; None when this one is not among them (it was removed again)."""
    path = save_model(model, tokenizer, Path(root) / f"{STEP_PREFIX}{step}")
    (path / SCORE_FILE).write_text(json.dumps({"full_valid_mean_reward": score}))
    ranked = sorted(list_checkpoints(root), key=_rank, reverse=True)
    for worse in ranked[keep:]:
        shutil.rmtree(worse, ignore_errors=True)
    return path if path.exists() else None


def _rank(path: Path) -> tuple[float, int]:
    try:
        score = float(json.loads((path / SCORE_FILE).read_text())["full_valid_mean_reward"])
    except (OSError, ValueError, KeyError, TypeError):
        score = float("-inf")
    return score, int(path.name.removeprefix(STEP_PREFIX))
