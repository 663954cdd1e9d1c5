"""`openft serve`'s server: once started, before its first request, it has settled the heap
(openft.heap): what the app keeps for good is out of the collector's full passes."""

from __future__ import annotations

import socket
import threading
import time

import httpx
import uvicorn

from openft.api.app import create_app
from openft.cli import _server
from openft.config import Settings
from support.collector import in_collected_generations


def test_the_started_server_has_settled_the_heap(tmp_path, unfrozen_heap):
    app = create_app(Settings(data_dir=tmp_path, embedded_worker=False))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = _server(uvicorn.Config(app, log_level="warning", lifespan="on"), None)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    assert in_collected_generations(app)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started and thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert server.started
        assert not in_collected_generations(app)
        port = sock.getsockname()[1]
        assert httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()
