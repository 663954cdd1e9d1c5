"""A real openft server (uvicorn) running in a thread on a free loopback port."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable

import uvicorn

from openft.api.app import create_app
from openft.config import Settings


class RunningServer:
    """``server`` builds the uvicorn server from its config: uvicorn's own, or e.g. the one
    `openft serve` runs (``cli._server``)."""

    def __init__(
        self, settings: Settings, server: Callable[[uvicorn.Config], uvicorn.Server] = uvicorn.Server
    ):
        self.settings = settings
        self.app = create_app(settings)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        config = uvicorn.Config(self.app, log_level="warning", lifespan="on")
        self._server = server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def services(self):
        return self.app.state.services

    def start(self) -> RunningServer:
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("openft test server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=15)
        self._sock.close()
