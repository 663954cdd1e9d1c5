"""Training states on disk (no training): only published states count, the newest two are kept,
a torn or foreign one is never resumed from, and checkpoint temporaries are never checkpoints."""

from __future__ import annotations

import json

import pytest

from openft.train import checkpoints, states


def written(tmp_path, step: int, *, max_steps: int = 10):
    """A folder as the Trainer writes it into its scratch folder."""
    folder = tmp_path / "scratch" / f"checkpoint-{step}"
    folder.mkdir(parents=True)
    (folder / "optimizer.pt").write_bytes(b"o")
    (folder / states.TRAINER_STATE).write_text(json.dumps({"global_step": step, "max_steps": max_steps}))
    return folder


def test_published_states_are_found_newest_first_and_the_two_newest_kept(tmp_path):
    root = tmp_path / "states"
    for step, reason in ((2, "interval"), (4, "checkpoint"), (5, "pause")):
        states.publish(written(tmp_path, step), root, step=step, reason=reason)
    assert [(s.step, s.reason) for s in states.list_states(root)] == [(4, "checkpoint"), (5, "pause")]
    latest = states.latest(root)
    assert latest is not None and latest.path == root / "step-5"
    states.check(latest, total_steps=10)
    assert not (tmp_path / "scratch" / "checkpoint-5").exists()


def test_a_torn_state_is_ignored_and_cleared(tmp_path):
    root = tmp_path / "states"
    states.publish(written(tmp_path, 3), root, step=3, reason="interval")
    written(tmp_path, 6)  # the process died while the Trainer wrote it: never published
    (root / "step-9").mkdir()  # a folder without the marker is no state either
    assert [s.step for s in states.list_states(root)] == [3]
    states.clear(tmp_path / "scratch")
    assert not (tmp_path / "scratch").exists()


def test_publishing_a_step_twice_keeps_the_first(tmp_path):
    root = tmp_path / "states"
    states.publish(written(tmp_path, 3), root, step=3, reason="interval")
    again = written(tmp_path, 3)
    states.publish(again, root, step=3, reason="pause")
    assert states.latest(root).reason == "interval" and not again.exists()


@pytest.mark.parametrize(
    ("content", "error"),
    [
        ("{not json", "cannot be read"),
        (json.dumps({"global_step": 2, "max_steps": 10}), "not the state of step 3"),
        (json.dumps({"global_step": 3, "max_steps": 12}), "a run of 12 steps, and this run has 10"),
    ],
)
def test_a_state_the_run_cannot_continue_from_is_refused_with_why(tmp_path, content, error):
    root = tmp_path / "states"
    states.publish(written(tmp_path, 3), root, step=3, reason="interval")
    (root / "step-3" / states.TRAINER_STATE).write_text(content)
    with pytest.raises(states.StateUnusable, match=error):
        states.check(states.latest(root), total_steps=10)


def test_checkpoint_temporaries_are_never_listed_and_are_removed(tmp_path):
    (tmp_path / ".step-4.x1y2").mkdir()  # a checkpoint whose save was cut short
    (tmp_path / "step-2").mkdir()
    assert [p.name for p in checkpoints.list_checkpoints(tmp_path)] == ["step-2"]
    checkpoints.remove_leftovers(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["step-2"]
