"""Several concurrent clients creating and listing jobs: no errors and no lost writes."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from support.clients import sync_client
from support.data import chat_rows, upload

CLIENTS, JOBS_EACH = 8, 6


def test_concurrent_creates_and_lists_lose_nothing(make_server, backend):
    server = make_server(backend)
    with sync_client(server.url) as setup:
        training = upload(setup, chat_rows(10))

    def work(worker: int) -> list[str]:
        created = []
        with sync_client(server.url) as client:
            for i in range(JOBS_EACH):
                job = client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=training, metadata={"worker": str(worker), "i": str(i)})
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
            mine = [job.metadata["i"] for job in client.fine_tuning.jobs.list(metadata={"worker": str(worker)})]
            assert mine == [str(i) for i in reversed(range(JOBS_EACH))]
