"""Bearer keys map to organizations and projects; every object is invisible to other projects."""

from __future__ import annotations

import subprocess
import sys

import openai
import pytest

from openft.config import KeyGrant
from support.clients import sync_client
from support.data import chat_rows, upload

KEYS = {
    "sk-alice": KeyGrant(organization="org-acme", organization_name="acme", project="proj_a"),
    "sk-bob": KeyGrant(organization="org-acme", organization_name="acme", project="proj_b"),
}


@pytest.fixture
def keyed(make_server):
    return make_server(api_keys=KEYS)


def test_bad_or_missing_key_is_401_in_openai_shape(keyed):
    with (
        sync_client(keyed.url, api_key="sk-wrong-key-1234") as client,
        pytest.raises(openai.AuthenticationError) as caught,
    ):
        client.files.list()
    body = caught.value.body
    assert (
        body["code"] == "invalid_api_key"
        and body["type"] == "invalid_request_error"
        and body["param"] is None
    )
    assert body["message"].startswith("Incorrect API key provided: sk-") and "1234" in body["message"]
    assert "sk-wrong-key-1234" not in body["message"]
    with (
        sync_client(keyed.url, api_key="sk-alice") as client,
        pytest.raises(openai.AuthenticationError) as caught,
    ):
        client.models.list(extra_headers={"Authorization": ""})
    assert "You didn't provide an API key" in caught.value.message


def test_projects_cannot_see_each_others_objects(keyed):
    with sync_client(keyed.url, api_key="sk-alice") as alice, sync_client(keyed.url, api_key="sk-bob") as bob:
        file_id = upload(alice, chat_rows(10))
        job = alice.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=file_id)
        assert job.organization_id == "org-acme"
        assert bob.files.list().data == [] and bob.fine_tuning.jobs.list().data == []
        for call in (
            lambda: bob.files.retrieve(file_id),
            lambda: bob.files.delete(file_id),
            lambda: bob.files.content(file_id),
            lambda: bob.fine_tuning.jobs.retrieve(job.id),
            lambda: bob.fine_tuning.jobs.cancel(job.id),
            lambda: bob.fine_tuning.jobs.list_events(job.id),
            lambda: bob.fine_tuning.jobs.checkpoints.list(job.id),
        ):
            with pytest.raises(openai.NotFoundError):
                call()
        with pytest.raises(openai.BadRequestError) as caught:
            bob.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=file_id)
        assert caught.value.param == "training_file"
        assert alice.files.retrieve(file_id).id == file_id


def test_open_server_refuses_to_bind_beyond_loopback(tmp_path):
    result = subprocess.run(  # noqa: PLW1510 (the exit status is what the test reads)
        [
            sys.executable,
            "-m",
            "openft",
            "serve",
            "--host",
            "0.0.0.0",
            "--port",
            "0",
            "--data-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "refusing to listen on 0.0.0.0 with no API keys" in result.stderr
