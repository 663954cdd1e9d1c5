"""Several concurrent clients creating and listing jobs: no errors and no lost writes."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import openai

from support.clients import sync_client
from support.data import chat_rows, jsonl, upload

CLIENTS, JOBS_EACH = 8, 6


def test_concurrent_creates_and_lists_lose_nothing(make_server, backend):
    server = make_server(backend)
    with sync_client(server.url) as setup:
        training = upload(setup, chat_rows(10))

    def work(worker: int) -> list[str]:
        created = []
        with sync_client(server.url) as client:
            for i in range(JOBS_EACH):
                job = client.fine_tuning.jobs.create(
                    model="gpt-4o-mini", training_file=training, metadata={"worker": str(worker), "i": str(i)}
                )
                created.append(job.id)
                assert job.id in {j.id for j in client.fine_tuning.jobs.list(limit=CLIENTS * JOBS_EACH)}
                client.files.list()
        return created

    with ThreadPoolExecutor(CLIENTS) as pool:
        created = [job_id for ids in pool.map(work, range(CLIENTS)) for job_id in ids]
    assert len(set(created)) == CLIENTS * JOBS_EACH
    with sync_client(server.url) as client:
        listed = [job.id for job in client.fine_tuning.jobs.list(limit=7)]  # the SDK follows every page
        assert sorted(listed) == sorted(created) and len(listed) == len(set(listed))
        for worker in range(CLIENTS):
            mine = [
                job.metadata["i"] for job in client.fine_tuning.jobs.list(metadata={"worker": str(worker)})
            ]
            assert mine == [str(i) for i in reversed(range(JOBS_EACH))]


def test_racing_completes_of_one_upload_make_one_file(make_server, backend):
    """Completes (and a cancel) of the same upload at once: one wins, the others are 400s naming
    the upload, and exactly one file exists, on disk and in the list."""
    server = make_server(backend)
    data = jsonl(chat_rows(300))
    with sync_client(server.url) as client:
        pending = client.uploads.create(
            bytes=len(data), filename="race.jsonl", mime_type="application/jsonl", purpose="fine-tune"
        )
        part = client.uploads.parts.create(pending.id, data=data)
    start = threading.Barrier(CLIENTS)

    def finish(worker: int):
        with sync_client(server.url) as client:
            start.wait()
            try:
                if worker == CLIENTS - 1:
                    return client.uploads.cancel(pending.id).status
                return client.uploads.complete(pending.id, part_ids=[part.id]).status
            except openai.BadRequestError as error:
                assert error.param == "upload_id" and error.code == "invalid_upload_state", error
                return "refused"

    with ThreadPoolExecutor(CLIENTS) as pool:
        outcomes = list(pool.map(finish, range(CLIENTS)))
    assert outcomes.count("refused") == CLIENTS - 1, outcomes
    on_disk = list((server.settings.data_dir / "files").iterdir())
    with sync_client(server.url) as client:
        files = [f for f in client.files.list() if f.filename == "race.jsonl"]
        if "completed" in outcomes:
            assert len(files) == 1 and len(on_disk) == 1 and client.files.content(files[0].id).read() == data
        else:
            assert outcomes.count("cancelled") == 1 and files == [] and on_disk == []
