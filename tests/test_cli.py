"""`openft serve`'s server: once started, before its first request, it has settled the heap
(openft.heap): what the app keeps for good is out of the collector's full passes."""

from __future__ import annotations

import httpx

from openft.cli import _server
from openft.config import Settings
from support.collector import in_collected_generations
from support.server import RunningServer


def test_the_started_server_has_settled_the_heap(tmp_path, unfrozen_heap):
    server = RunningServer(
        Settings(data_dir=tmp_path, embedded_worker=False), server=lambda config: _server(config, None)
    )
    assert in_collected_generations(server.app)
    server.start()
    try:
        assert not in_collected_generations(server.app)
        assert httpx.get(f"{server.url}/models").status_code == 200
    finally:
        server.stop()
