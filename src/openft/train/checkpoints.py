"""Checkpoints: a model (LoRA adapter or full weights) plus tokenizer written to a directory.

Writes go to a temporary sibling first and are renamed into place, so a reader (the serve
engine, the worker registering checkpoints) never sees a half-written directory, and a
leftover temporary (a process killed while writing) is never taken for a checkpoint. Epoch
checkpoints live in ``<root>/step-N/`` and only the last ``keep`` are kept, as OpenAI keeps
the last three epochs; reinforcement checkpoints (one per evaluation) carry their validation
reward in ``validation_reward.json`` and the ``keep`` best are kept (a tie keeps the later step).

A checkpoint that falls out of the kept ones is *retired* (marked), not deleted: a row may still
point to it, and it is deleted only once its row is gone (``JobProgress.forget_pruned``). A step
whose checkpoint is already there (a resumed run training it again) keeps the one it has.
"""

import json
import shutil
import tempfile
from pathlib import Path

STEP_PREFIX = "step-"
KEEP_CHECKPOINTS = 3
SCORE_FILE = "validation_reward.json"
RETIRED = ".retired"  # marks a checkpoint no longer kept, to delete once nothing points to it


def save_model(model, tokenizer, target: Path, *, files: dict[str, str] | None = None) -> Path:
    """Save ``model`` and ``tokenizer`` (and ``files``: name -> text) into ``target`` (replacing
    it), atomically."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        _save_weights(model, scratch)
        tokenizer.save_pretrained(scratch)
        for name, text in (files or {}).items():
            (scratch / name).write_text(text)
        scratch.chmod(0o755)
        if target.exists():
            shutil.rmtree(target)
        scratch.rename(target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return target


def _save_weights(model, directory: Path) -> None:
    """Full weights, or the adapter being trained only (DPO keeps a frozen reference copy beside it)."""
    from peft import PeftModel

    if isinstance(model, PeftModel):
        model.save_pretrained(str(directory), selected_adapters=[model.active_adapter])
    else:
        model.save_pretrained(directory)


def remove_leftovers(directory: Path) -> None:
    """Remove the temporaries of writes that never finished (``.step-N.*``, ``.final.*``)."""
    directory = Path(directory)
    if directory.is_dir():
        for entry in directory.iterdir():
            if entry.name.startswith(".") and entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)


def _save_step(model, tokenizer, root: Path, step: int, files: dict[str, str] | None = None) -> Path:
    """``<root>/step-<step>/``, saved unless a kept checkpoint of that step is already there."""
    path = Path(root) / f"{STEP_PREFIX}{step}"
    if path.is_dir() and not is_retired(path):
        return path
    return save_model(model, tokenizer, path, files=files)


def save_checkpoint(model, tokenizer, root: Path, step: int, *, keep: int = KEEP_CHECKPOINTS) -> Path:
    """Save ``<root>/step-<step>/`` and retire all but the ``keep`` latest step directories."""
    path = _save_step(model, tokenizer, root, step)
    for old in list_checkpoints(root)[:-keep]:
        retire(old)
    return path


def list_checkpoints(root: Path) -> list[Path]:
    """The kept step directories under ``root``, oldest step first."""
    return [path for path in _step_dirs(root) if not is_retired(path)]


def retired_checkpoints(root: Path) -> list[Path]:
    return [path for path in _step_dirs(root) if is_retired(path)]


def _step_dirs(root: Path) -> list[Path]:
    root = Path(root)
    if not root.is_dir():
        return []
    steps = [p for p in root.iterdir() if p.is_dir() and p.name.removeprefix(STEP_PREFIX).isdigit()]
    return sorted(steps, key=lambda p: int(p.name.removeprefix(STEP_PREFIX)))


def retire(path: Path) -> None:
    (Path(path) / RETIRED).touch()


def is_retired(path: Path) -> bool:
    return (Path(path) / RETIRED).exists()


def save_scored_checkpoint(
    model, tokenizer, root: Path, step: int, score: float, *, keep: int = KEEP_CHECKPOINTS
) -> Path | None:
    """Save ``<root>/step-<step>/`` with its validation reward and keep the ``keep`` best-scored
    step directories (the others are retired); None when this one is not among them."""
    files = {SCORE_FILE: json.dumps({"full_valid_mean_reward": score})}
    path = _save_step(model, tokenizer, root, step, files)
    ranked = sorted(list_checkpoints(root), key=_rank, reverse=True)
    for worse in ranked[keep:]:
        retire(worse)
    return None if is_retired(path) else path


def _rank(path: Path) -> tuple[float, int]:
    try:
        score = float(json.loads((path / SCORE_FILE).read_text())["full_valid_mean_reward"])
    except (OSError, ValueError, KeyError, TypeError):
        score = float("-inf")
    return score, int(path.name.removeprefix(STEP_PREFIX))
