"""Fine-tuning from a checkpoint another project shares, on the tiny model through the official SDK:
a job created while the permission exists trains to success even when the permission is deleted
before any worker starts it (the job recorded the owning project at creation), and what it makes is
its own project's model, which outlives the parent checkpoint."""

from __future__ import annotations

import openai
import pytest

from openft.config import KeyGrant
from openft.worker import Worker, WorkerThread
from support.clients import sync_client
from support.data import chat_rows, step_metrics, upload, wait_for_status
from support.tiny_models import register, save_adapter

pytestmark = pytest.mark.train

KEYS = {
    "sk-a": KeyGrant(organization="org-acme", project="proj_a"),
    "sk-b": KeyGrant(organization="org-acme", project="proj_b"),
}
PARENT = "ft:tiny:acme::PaRe6666:ckpt-step-2"
SFT = {"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 1, "batch_size": 5}}}
HELLO = [{"role": "user", "content": "Hi"}]


def test_a_job_made_from_a_shared_checkpoint_trains_after_the_permission_is_deleted(
    tiny_server, tiny_model_dir, tmp_path
):
    server = tiny_server(embedded_worker=False, api_keys=KEYS)
    register(server, PARENT, save_adapter(tiny_model_dir, tmp_path / "parent", seed=5))
    with sync_client(server.url, api_key="sk-a") as a, sync_client(server.url, api_key="sk-b") as b:
        [granted] = a.fine_tuning.checkpoints.permissions.create(PARENT, project_ids=["proj_b"]).data
        job = b.fine_tuning.jobs.create(model=PARENT, training_file=upload(b, chat_rows(10)), method=SFT)
        assert wait_for_status(b, job.id, {"queued", "failed"}).status == "queued"
        a.fine_tuning.checkpoints.permissions.delete(granted.id, fine_tuned_model_checkpoint=PARENT)
        with pytest.raises(openai.NotFoundError):
            b.chat.completions.create(model=PARENT, messages=HELLO, max_tokens=2)

        worker = WorkerThread(Worker(server.settings, server.services.db, server.services.storage))
        worker.start()  # only now does a trainer resolve the parent
        try:
            done = wait_for_status(b, job.id, {"succeeded", "failed", "cancelled"}, timeout=400)
        finally:
            worker.stop()
        assert done.status == "succeeded", done.error
        assert (done.model, [m["step"] for m in step_metrics(b, job.id)]) == (PARENT, [1, 2])
        assert done.fine_tuned_model.startswith("ft:tiny:acme::")
        assert done.fine_tuned_model in {m.id for m in b.models.list()}
        assert done.fine_tuned_model not in {m.id for m in a.models.list()}

        a.models.delete(PARENT)  # the parent's weights go; the child trained its own copy further
        reply = b.chat.completions.create(model=done.fine_tuned_model, messages=HELLO, max_tokens=2)
        assert reply.model == done.fine_tuned_model and reply.usage.completion_tokens >= 1
