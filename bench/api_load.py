"""The API under load: 50 concurrent clients upload a small file, create a job on it and list jobs,
against the real openft server and against a minimal FastAPI + SQLAlchemy app doing the same
inserts, both in subprocesses, in one run.

    .venv/bin/python bench/api_load.py [--clients 50 --rounds 10 --trials 5]
    .venv/bin/python bench/api_load.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/apiload

openft runs as `openft serve` does (uvicorn, one process, its validation stage validating each new
job), with the embedded worker off (OPENFT_EMBEDDED_WORKER=false) so no training takes the CPU:
jobs stay queued once validated. The baseline is what one writes by hand: sync endpoints on one
uvicorn process, a session per request, a `files` row (bytes written to disk) and a `jobs` row
(JSON method column) inserted, the newest 20 jobs listed; on SQLite the same WAL/synchronous=NORMAL
pragmas, on PostgreSQL the same pool as openft's (40 connections kept, 10 more on demand: with the
10 + 20 openft had before, both sides closed and reopened connections all through a run). It
validates nothing and writes no events.

With a PostgreSQL URL each side gets a fresh database on that server (apiload_openft,
apiload_minimal: dropped and created). The load generator is one asyncio process here, one
httpx client (one keep-alive connection) per simulated client, sharing the CPU with the server.
Each client first runs one untimed round (warm-up), then ``--rounds`` timed ones. Printed: median,
p95 and p99 per operation for both, and openft / minimal; throughput; and the server process's CPU
time per round (from /proc). The validation stage trails the creates under load, so openft's CPU is
read once it has caught up (no job left in validating_files, read from the database): every
validation of the window counts. A shared VM's slow spells move every figure, CPU time included
(the same code measured 10.9 and 22.5 ms a round within ten minutes): ``--trials N`` alternates the
two servers N times and ends with the median of each trial's ratios.
``--sequential N`` measures instead the server's CPU time per operation with one client: N uploads,
then N creates (their validation included), then N lists, one at a time: no queueing, so the figures
move less with the machine than those under load.
``--calls N`` counts instead the Python function calls per operation, every thread of the server
counted (yappi), each app driven in this process over ASGI: the same N operations one at a time, a
figure this machine's load does not move (it needs `pip install yappi`).
``--serving`` measures openft as a server that also serves chat: before its warm-up it answers one
chat completion on the built-in model, so torch, transformers and the model are loaded in its
process (~385,000 more objects for the garbage collector); the minimal app serves nothing. The
built-in model is converted once per run, into a folder both trials' data dirs link to.
``--py-spy FILE`` records the openft server with py-spy from its warm-up on: collapsed stacks
(text) of the thread holding the GIL, where its Python CPU time goes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from fastapi import Form, UploadFile  # at module level: the endpoints' annotations are resolved here

ROOT = Path(__file__).resolve().parents[1]
OPERATIONS = ("upload file", "create job", "list jobs")
EXAMPLE = {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}]}
TRAINING_BYTES = ("\n".join(json.dumps(EXAMPLE) for _ in range(10)) + "\n").encode()


def minimal_app(database_url: str, data_dir: Path):
    """The baseline: FastAPI + SQLAlchemy, the inserts and the list, nothing else."""
    from fastapi import FastAPI
    from sqlalchemy import JSON, BigInteger, Column, Integer, MetaData, String, Table, insert, select

    engine = _baseline_engine(database_url)
    metadata = MetaData()
    files = Table(
        "files", metadata, Column("pk", Integer, primary_key=True), Column("id", String(64), unique=True),
        Column("project_id", String(64)), Column("filename", String(1024)), Column("purpose", String(32)),
        Column("bytes", BigInteger), Column("created_at", BigInteger), Column("path", String(1024)),
    )  # fmt: skip
    jobs = Table(
        "jobs", metadata, Column("pk", Integer, primary_key=True), Column("id", String(64), unique=True),
        Column("project_id", String(64), index=True), Column("created_at", BigInteger),
        Column("model", String(512)), Column("status", String(32)), Column("training_file", String(64)),
        Column("method", JSON),
    )  # fmt: skip
    metadata.create_all(engine)
    app = FastAPI()
    app.add_api_route("/health", lambda: {"status": "ok"})

    @app.post("/v1/files")
    def create_file(file: UploadFile, purpose: str = Form()):
        file_id, content = "file-" + os.urandom(12).hex(), file.file.read()
        (data_dir / file_id).write_bytes(content)
        row = {"id": file_id, "project_id": "proj", "filename": file.filename, "purpose": purpose,
               "bytes": len(content), "created_at": int(time.time()), "path": file_id}  # fmt: skip
        with engine.begin() as connection:
            connection.execute(insert(files).values(**row))
        return {"object": "file", **row}

    @app.post("/v1/fine_tuning/jobs")
    def create_job(body: dict):
        row = {"id": "ftjob-" + os.urandom(12).hex(), "project_id": "proj", "created_at": int(time.time()),
               "model": body["model"], "status": "validating_files", "training_file": body["training_file"],
               "method": {"type": "supervised", "supervised": {"hyperparameters": {}}}}  # fmt: skip
        with engine.begin() as connection:
            connection.execute(insert(jobs).values(**row))
        return {"object": "fine_tuning.job", **row}

    @app.get("/v1/fine_tuning/jobs")
    def list_jobs(limit: int = 20):
        query = select(jobs).where(jobs.c.project_id == "proj").order_by(jobs.c.pk.desc()).limit(limit + 1)
        with engine.begin() as connection:
            rows = [dict(row._mapping) for row in connection.execute(query)]
        return {"object": "list", "data": rows[:limit], "has_more": len(rows) > limit}

    return app


def _baseline_engine(url: str):
    from sqlalchemy import create_engine, event

    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True, pool_size=40, max_overflow=10)  # as openft
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _pragmas(connection, _record) -> None:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")

    return engine


def serve_minimal(args) -> None:
    import uvicorn

    app = minimal_app(args.database_url, Path(args.data_dir))
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc): less noisy than latency here."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fresh_database(server_url: str, name: str) -> str:
    """A new, empty PostgreSQL database ``name`` on the server of ``server_url``; its URL."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    engine = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def start_server(side: str, database_url: str, data_dir: Path, port: int):
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OPENFT_EMBEDDED_WORKER": "false"}
    common = ["--port", str(port), "--data-dir", str(data_dir), "--database-url", database_url]
    if side == "openft":
        command = [sys.executable, "-m", "openft", "serve", "--log-level", "warning", *common]
    else:
        command = [sys.executable, __file__, "serve-minimal", *common]
    return subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)


def start_py_spy(pid: int, output: str):
    spy = Path(sys.executable).with_name("py-spy")
    command = [str(spy), "record", "-p", str(pid), "-f", "raw", "-r", "100", "--gil", "-o", output]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL)


async def wait_healthy(base_url: str, process) -> None:
    import httpx

    async with httpx.AsyncClient(base_url=base_url) as client:
        for _ in range(600):
            if process.poll() is not None:
                raise RuntimeError(f"the server exited with {process.returncode}")
            try:
                if (await client.get("/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("the server did not answer /health within 60 s")


async def one_round(client, timings: dict | None) -> None:
    async def timed(name: str, request):
        start = time.perf_counter()
        response = await request
        if response.status_code != 200:
            raise RuntimeError(f"{name}: {response.status_code} {response.text[:300]}")
        if timings is not None:
            timings[name].append(time.perf_counter() - start)
        return response.json()

    files = {"file": ("train.jsonl", TRAINING_BYTES, "application/jsonl")}
    file = await timed("upload file", client.post("/v1/files", files=files, data={"purpose": "fine-tune"}))
    body = {"model": "gpt-4o-mini", "training_file": file["id"]}
    await timed("create job", client.post("/v1/fine_tuning/jobs", json=body))
    await timed("list jobs", client.get("/v1/fine_tuning/jobs", params={"limit": 20}))


async def drive(base_url: str, clients: int, rounds: int, pid: int, settle) -> tuple[dict, float, float]:
    """Timings, seconds and server CPU seconds of the timed rounds; ``settle()`` runs after the
    warm-up and after the timed rounds, before the CPU is read (openft: its validation caught up)."""
    import httpx

    timings: dict[str, list[float]] = defaultdict(list)

    async def one_client(timed: bool, count: int) -> None:
        async with httpx.AsyncClient(base_url=base_url, timeout=120) as client:
            for _ in range(count):
                await one_round(client, timings if timed else None)

    await asyncio.gather(*(one_client(False, 1) for _ in range(clients)))
    settle()
    start, cpu = time.perf_counter(), cpu_seconds(pid)
    await asyncio.gather(*(one_client(True, rounds) for _ in range(clients)))
    seconds = time.perf_counter() - start
    settle()
    return timings, seconds, cpu_seconds(pid) - cpu


async def drive_sequential(base_url: str, count: int, pid: int, settle) -> dict[str, float]:
    """Server CPU ms per operation, one client, one operation at a time (after 20 warm-up rounds)."""
    import httpx

    spent: dict[str, float] = {}

    async def measure(name: str, operation) -> None:
        cpu = cpu_seconds(pid)
        for _ in range(count):
            await operation()
        if name.startswith("create"):
            settle()  # the validation of these jobs counts too
        spent[name] = (cpu_seconds(pid) - cpu) / count * 1000

    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        await _sequence(client, count, measure, settle)
    return spent


def count_calls(side: str, database_url: str, data_dir: Path, count: int) -> dict[str, float]:
    """Python function calls per operation of ``side``'s app, all threads (yappi), in process, less
    the calls of the client itself (counted against an app that answers at once)."""
    import yappi

    settle: Callable[[], None] = lambda: None  # noqa: E731
    lifespan: contextlib.AbstractAsyncContextManager = contextlib.nullcontext()
    if side == "openft":
        sys.path.insert(0, str(ROOT / "src"))
        from openft.api.app import create_app
        from openft.config import Settings

        app = create_app(Settings(data_dir=data_dir, database_url=database_url, embedded_worker=False))
        lifespan = app.router.lifespan_context(app)
        settle = lambda: validation_caught_up(database_url)  # noqa: E731
    else:
        app = minimal_app(database_url, data_dir) if side == "minimal" else _answering_app

    async def drive() -> dict[str, float]:
        import httpx

        counted: dict[str, float] = {}
        transport = httpx.ASGITransport(app=app)
        async with (
            lifespan,
            httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=60) as client,
        ):

            async def counting(name: str, operation) -> None:
                yappi.clear_stats()
                yappi.start(builtins=False)
                for _ in range(count):
                    await operation()
                if name.startswith("create"):  # the validation of these jobs counts, the waiting not
                    waiter = threading.Thread(target=settle, name="bench-settle")
                    waiter.start()
                    await asyncio.to_thread(waiter.join)
                yappi.stop()
                skipped = {t.id for t in yappi.get_thread_stats() if t.name == "bench-settle"}
                stats = yappi.get_func_stats()
                counted[name] = sum(stat.ncall for stat in stats if stat.ctx_id not in skipped) / count

            await _sequence(client, count, counting, settle)
        return counted

    return asyncio.run(drive())


async def _answering_app(scope, receive, send) -> None:
    """An ASGI app that answers every request at once: what the client's own calls are counted on."""
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    body = b'{"id": "file-answered"}'
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]}
    )
    await send({"type": "http.response.body", "body": body})


async def _sequence(client, count: int, measure, settle) -> None:
    """20 warm-up rounds, then ``measure(name, operation)`` for N uploads, N creates, N lists."""
    files = {"file": ("train.jsonl", TRAINING_BYTES, "application/jsonl")}

    async def upload() -> str:
        response = await client.post("/v1/files", files=files, data={"purpose": "fine-tune"})
        return response.raise_for_status().json()["id"]

    async def list_jobs() -> None:
        (await client.get("/v1/fine_tuning/jobs", params={"limit": 20})).raise_for_status()

    for _ in range(20):
        body = {"model": "gpt-4o-mini", "training_file": await upload()}
        (await client.post("/v1/fine_tuning/jobs", json=body)).raise_for_status()
        await list_jobs()
    await asyncio.to_thread(settle)
    await measure("upload file", upload)
    uploaded = iter([await upload() for _ in range(count)])

    async def create() -> None:
        body = {"model": "gpt-4o-mini", "training_file": next(uploaded)}
        (await client.post("/v1/fine_tuning/jobs", json=body)).raise_for_status()

    await measure("create job + validation", create)
    await measure("list jobs", list_jobs)


def validation_caught_up(database_url: str) -> None:
    """Wait (reading the database, not the server) until no openft job is in validating_files, so
    that the server CPU counted includes the validation of every job created in the window: the
    validation stage trails the creates under load."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    started = time.perf_counter()
    try:
        while time.perf_counter() - started < 300:
            with engine.connect() as connection:
                query = text("SELECT count(*) FROM jobs WHERE status = 'validating_files'")
                if connection.execute(query).scalar() == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError("openft's validation stage did not catch up within 300 s")
    finally:
        engine.dispose()


def run_side(side: str, args, work: Path, models: Path | None = None):
    """One server's run: the closed loop's (timings, seconds, server CPU seconds), or by operation
    its server CPU ms (``--sequential``) or its Python calls, in process (``--calls``). With
    ``models`` (a folder holding the built-in model's cache), openft first serves one chat."""
    data_dir = work / side
    data_dir.mkdir()
    serving = models is not None and side == "openft"
    if serving:
        (data_dir / "models").symlink_to(models)
    if args.database_url:
        database_url = fresh_database(args.database_url, f"apiload_{side}")
    else:
        database_url = f"sqlite:///{data_dir / 'openft.db'}"
    if args.calls:
        counted = count_calls(side, database_url, data_dir, args.calls)
        client = count_calls("client", database_url, data_dir, args.calls)
        return {name: calls - client[name] for name, calls in counted.items()}
    port = free_port()
    process = start_server(side, database_url, data_dir, port)
    spy = None
    try:
        base_url = f"http://127.0.0.1:{port}"
        asyncio.run(wait_healthy(base_url, process))
        if serving:
            serve_one_chat(base_url)
        if args.py_spy and side == "openft":
            spy = start_py_spy(process.pid, args.py_spy)
        settle = (lambda: validation_caught_up(database_url)) if side == "openft" else (lambda: None)
        if args.sequential:
            return asyncio.run(drive_sequential(base_url, args.sequential, process.pid, settle))
        return asyncio.run(drive(base_url, args.clients, args.rounds, process.pid, settle))
    finally:
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            spy.wait(timeout=60)
        process.terminate()
        process.wait(timeout=60)


def serve_one_chat(base_url: str) -> None:
    """One chat completion on the built-in model: the server loads its serving engine and the model."""
    import httpx

    body = {
        "model": "SmolLM2-135M-Instruct",
        "messages": [{"role": "user", "content": "Hi"}],
        "max_tokens": 4,
    }
    response = httpx.post(f"{base_url}/v1/chat/completions", json=body, timeout=600)
    if response.status_code != 200:
        raise RuntimeError(f"chat: {response.status_code} {response.text[:300]}")


def quantiles(samples: list[float]) -> tuple[float, float, float]:
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return statistics.median(samples) * 1000, cuts[94] * 1000, cuts[98] * 1000


def report(results: dict, args) -> dict[str, float]:
    """Print one trial's table; its ratios (openft / minimal) by name."""
    backend = "PostgreSQL" if args.database_url else "SQLite"
    serving = ", openft having served one chat (the built-in model loaded)" if args.serving else ""
    rounds = f"{args.rounds} rounds (after 1 warm-up round)"
    print(f"{backend}, {args.clients} concurrent clients x {rounds}{serving}")
    print(f"{'':28} {'median ms':>10} {'p95 ms':>8} {'p99 ms':>8}")
    ratios = {}
    for operation in OPERATIONS:
        rows = {side: quantiles(timings[operation]) for side, (timings, _, _) in results.items()}
        for side, (median, p95, p99) in rows.items():
            print(f"{operation + ': ' + side:28} {median:10.1f} {p95:8.1f} {p99:8.1f}")
        ratio = [o / m for o, m in zip(rows["openft"], rows["minimal"], strict=True)]
        print(f"  ratio openft/minimal: median {ratio[0]:.2f}x, p95 {ratio[1]:.2f}x, p99 {ratio[2]:.2f}x")
        ratios[f"{operation} median"], ratios[f"{operation} p99"] = ratio[0], ratio[2]
    requests = args.clients * args.rounds * len(OPERATIONS)
    rates = {side: requests / seconds for side, (_, seconds, _) in results.items()}
    print(
        f"throughput: openft {rates['openft']:.0f} req/s, minimal {rates['minimal']:.0f} req/s, "
        f"ratio {rates['openft'] / rates['minimal']:.2f}x"
    )
    cpu = {side: 1000 * seconds / (requests / len(OPERATIONS)) for side, (_, _, seconds) in results.items()}
    print(
        f"server CPU per round (upload + create + list, validation included): openft {cpu['openft']:.1f} ms, "
        f"minimal {cpu['minimal']:.1f} ms, ratio {cpu['openft'] / cpu['minimal']:.2f}x"
    )
    ratios["throughput"], ratios["server CPU per round"] = (
        rates["openft"] / rates["minimal"],
        cpu["openft"] / cpu["minimal"],
    )
    return ratios


def report_sequential(results: dict, args) -> dict[str, float]:
    """Print one sequential trial's figure per operation (server CPU ms, or Python calls); its ratios."""
    backend = "PostgreSQL" if args.database_url else "SQLite"
    what = "Python calls, in process" if args.calls else "server CPU ms"
    print(f"{backend}, one client, {args.calls or args.sequential} of each operation: {what} per operation")
    ratios = {}
    for name, minimal in results["minimal"].items():
        ours = results["openft"][name]
        ratios[name] = ours / minimal
        print(f"{name:26} minimal {minimal:8.2f}  openft {ours:8.2f}  ratio {ratios[name]:.2f}x")
    return ratios


def summarize(trials: list[dict[str, float]]) -> None:
    """The median over trials of each ratio: the minimal app and openft alternate, so a slow spell of
    a shared machine falls on both sides of some trial instead of on one side of the only one."""
    print(f"\n## median of {len(trials)} trials (each ratio within its own trial), with their range")
    for name in trials[0]:
        values = sorted(trial[name] for trial in trials)
        print(f"{name:24} {statistics.median(values):5.2f}x   ({values[0]:.2f}-{values[-1]:.2f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", nargs="?", default="bench", choices=["bench", "serve-minimal"])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--trials", type=int, default=1, help="alternate both servers this many times")
    parser.add_argument("--database-url", help="a PostgreSQL server URL (default: SQLite files)")
    parser.add_argument("--py-spy", help="record the openft server's stacks into this file")
    parser.add_argument(
        "--sequential", type=int, metavar="N", help="server CPU per operation, one client, N of each"
    )
    parser.add_argument(
        "--calls", type=int, metavar="N", help="Python calls per operation, in process (yappi), N of each"
    )
    parser.add_argument(
        "--serving", action="store_true", help="openft serves one chat first (the built-in model loaded)"
    )
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.mode == "serve-minimal":
        serve_minimal(args)
        return
    if args.serving and (args.calls or args.sequential):
        parser.error("--serving measures the closed loop only")
    print(
        f"# {platform.node()} {platform.machine()}, {os.cpu_count()} CPUs, python {platform.python_version()}"
    )
    print(f"# load before: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    with tempfile.TemporaryDirectory(prefix="openft-apiload-models-") as cache:
        models = builtin_models(Path(cache)) if args.serving else None
        trials = [run_trial(args, trial, models) for trial in range(args.trials)]
    print(f"# load after: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    if args.trials > 1:
        summarize(trials)


def builtin_models(data_dir: Path) -> Path:
    """The models folder of ``data_dir``, the built-in model converted into it (as a server would)."""
    sys.path.insert(0, str(ROOT / "src"))
    from openft.lm.loading import builtin_model_dir

    return builtin_model_dir(data_dir).parent


def run_trial(args, trial: int, models: Path | None) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="openft-apiload-") as work:
        results = {side: run_side(side, args, Path(work), models) for side in ("minimal", "openft")}
    if args.trials > 1:
        print(f"\n# trial {trial + 1} of {args.trials}")
    return (report_sequential if args.sequential or args.calls else report)(results, args)


if __name__ == "__main__":
    main()
