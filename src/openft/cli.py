"""`openft serve | worker | migrate | jobs follow`: the command line.

SIGTERM or Ctrl-C on `serve` or `worker` shuts down cleanly: the worker stops claiming jobs, its
trainers save their state and stop, and their jobs go back to the queue (within
``shutdown_grace_seconds``, then they are killed and continue from their latest saved state). A
second signal does not wait: the trainers are killed, their jobs requeued, and the process exits.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import sys
from pathlib import Path

from openft.config import Settings


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _settings(args) -> Settings:
    overrides = {}
    for name in ("host", "port", "data_dir", "database_url"):
        value = getattr(args, name, None)
        if value is not None:
            overrides[name] = value
    return Settings(**overrides)


def serve(args) -> int:
    import uvicorn

    from openft.api.app import create_app

    settings = _settings(args)
    if settings.open_access and not _is_loopback(settings.host):
        print(
            f"openft: refusing to listen on {settings.host} with no API keys configured; "
            "set OPENFT_API_KEYS or bind to 127.0.0.1",
            file=sys.stderr,
        )
        return 2
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=args.log_level,
        timeout_graceful_shutdown=max(1, int(settings.shutdown_grace_seconds)),
    )
    _server(config, app.state.worker).run()
    return 0


def _server(config, worker):
    """uvicorn's server, whose first signal also starts the embedded worker's shutdown (it stops
    claiming, its trainers save their state) and whose second one hurries it: the trainers are
    killed, their jobs requeued, and uvicorn exits without waiting for open connections. Before it
    starts (the app built, uvicorn's protocols loaded), it settles the process's heap
    (``openft.heap``)."""
    import uvicorn

    from openft import heap

    class Server(uvicorn.Server):
        async def startup(self, sockets=None) -> None:
            heap.settle()  # the app and uvicorn loaded, before the app's start-up starts its threads
            await super().startup(sockets)

        def handle_exit(self, sig, frame) -> None:
            if worker is not None and self.should_exit:
                worker.hurry()
                worker.stop()
                self.force_exit = True
            elif worker is not None:
                worker.begin_stop()
            super().handle_exit(sig, frame)

    return Server(config)


def worker(args) -> int:
    import signal
    import threading

    from openft.storage import Storage
    from openft.store.db import Database
    from openft.store.migrate import upgrade
    from openft.worker import Worker

    settings = _settings(args)
    if args.max_concurrent_jobs:
        settings.max_concurrent_jobs = args.max_concurrent_jobs
    db = Database(settings.resolved_database_url)
    upgrade(db)
    stop = threading.Event()
    running = Worker(settings, db, Storage(settings.data_dir))

    def on_signal(*_) -> None:
        if stop.is_set():
            running.hurry()  # a second signal: kill the trainers now, requeue their jobs, exit
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)
    running.run(stop)
    return 0


def migrate(args) -> int:
    from openft.store.db import Database
    from openft.store.migrate import upgrade

    settings = _settings(args)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(Database(settings.resolved_database_url))
    print(f"openft: database at {settings.resolved_database_url} is up to date")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="openft", description="The OpenAI fine-tuning API, self-hosted.")
    commands = parser.add_subparsers(dest="command", required=True)
    for name, func, help_text in (
        ("serve", serve, "run the API server with an embedded worker"),
        ("worker", worker, "run a standalone worker against the same database and data dir"),
        ("migrate", migrate, "upgrade the database schema"),
    ):
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument("--data-dir", type=Path, help="data directory (env OPENFT_DATA_DIR)")
        sub.add_argument(
            "--database-url", help="SQLAlchemy URL (env OPENFT_DATABASE_URL); default: SQLite in the data dir"
        )
        sub.set_defaults(func=func)
        if name == "serve":
            sub.add_argument("--host", help="bind address (env OPENFT_HOST, default 127.0.0.1)")
            sub.add_argument("--port", type=int, help="port (env OPENFT_PORT, default 8000)")
            sub.add_argument("--log-level", default="info")
        if name == "worker":
            sub.add_argument(
                "--max-concurrent-jobs", type=int, help="env OPENFT_MAX_CONCURRENT_JOBS (default 1)"
            )
    _jobs_parser(commands)
    return parser


def _jobs_parser(commands) -> None:
    jobs = commands.add_parser("jobs", help="fine-tuning jobs on any OpenAI-compatible server")
    actions = jobs.add_subparsers(dest="action", required=True)
    follow = actions.add_parser("follow", help="show a job's progress until it ends; print its model")
    follow.add_argument("job_id")
    follow.add_argument(
        "--base-url", help="the API's base URL (env OPENAI_BASE_URL), e.g. http://127.0.0.1:8000/v1"
    )
    follow.add_argument("--api-key", help="env OPENAI_API_KEY")
    follow.add_argument("--poll-seconds", type=float, default=2.0)
    follow.set_defaults(func=_follow)


def _follow(args) -> int:
    from openft.follow import main as follow_main

    return follow_main(args)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = _parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
