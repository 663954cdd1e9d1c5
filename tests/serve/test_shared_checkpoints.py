"""A checkpoint shared by a checkpoint permission answers the project it is shared with, on chat and
completions alike, exactly as it answers its owner; once the permission is deleted it is a 404 again
there (and still answers its owner). Its own server: the permissions must not reach other tests."""

from __future__ import annotations

import openai
import pytest

from support.clients import sync_client
from support.server import RunningServer
from support.tiny_models import register, tiny_settings

pytestmark = pytest.mark.serve

CHECKPOINT = "ft:tiny:acme::ShAr5555:ckpt-step-2"
HELLO = [{"role": "user", "content": "Say hello."}]


@pytest.fixture
def server(tmp_path, tiny_model_dir, tiny_artifacts):
    running = RunningServer(tiny_settings(tmp_path, tiny_model_dir)).start()
    register(running, CHECKPOINT, tiny_artifacts["a"], relative="jobs/ftjob-share/checkpoints/step-2")
    yield running
    running.stop()


def chat(client) -> str:
    reply = client.chat.completions.create(model=CHECKPOINT, messages=HELLO, max_tokens=8, temperature=0)
    assert reply.model == CHECKPOINT
    return reply.choices[0].message.content


def complete(client) -> str:
    return (
        client.completions.create(model=CHECKPOINT, prompt="Hello", max_tokens=8, temperature=0)
        .choices[0]
        .text
    )


def test_a_shared_checkpoint_answers_the_project_it_is_shared_with_until_the_permission_goes(server):
    with sync_client(server.url, api_key="sk-a") as a, sync_client(server.url, api_key="sk-b") as b:
        for call in (chat, complete):
            with pytest.raises(openai.NotFoundError) as hidden:
                call(b)
            assert hidden.value.code == "model_not_found"
        owner = (chat(a), complete(a))
        [granted] = a.fine_tuning.checkpoints.permissions.create(CHECKPOINT, project_ids=["proj_b"]).data
        assert (chat(b), complete(b)) == owner  # the same adapter, whoever asks

        a.fine_tuning.checkpoints.permissions.delete(granted.id, fine_tuned_model_checkpoint=CHECKPOINT)
        for call in (chat, complete):
            with pytest.raises(openai.NotFoundError):
                call(b)
        assert (chat(a), complete(a)) == owner
