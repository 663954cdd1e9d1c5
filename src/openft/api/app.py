"""The FastAPI application: routers under /v1, OpenAI-shaped errors, the validation stage."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi.responses import JSONResponse

from openft.api import (
    chat,
    errors,
    files,
    fine_tuning,
    graders,
    models,
    permissions,
    responses,
    stored_completions,
    uploads,
)
from openft.api.body_limit import BodyLimit
from openft.api.deps import Services
from openft.api.guards import refuse_unstorable
from openft.api.multipart import FORM_OVERHEAD_BYTES
from openft.catalog import Catalog
from openft.config import Settings
from openft.storage import Storage
from openft.store.db import Database
from openft.store.migrate import upgrade
from openft.validation_stage import ValidationThread
from openft.web import install as install_dashboard
from openft.worker import Worker, WorkerThread

log = logging.getLogger("openft.api")
CONTROL_PLANE = (
    files,
    uploads,
    fine_tuning,
    permissions,
    models,
    stored_completions,
    responses,
)  # what the store keeps: guarded by refuse_unstorable


def health(services: Services) -> JSONResponse:
    """GET /health (outside the OpenAI surface): 200 when the database and the data dir can be
    written, else 503 naming what is wrong."""
    checks = {"database": services.db.problem(), "storage": services.storage.problem()}
    healthy = all(problem is None for problem in checks.values())
    body = {"status": "ok" if healthy else "unavailable", **{k: v or "ok" for k, v in checks.items()}}
    return JSONResponse(body, status_code=200 if healthy else 503)


def create_app(settings: Settings) -> FastAPI:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.resolved_database_url)
    upgrade(db)
    storage = Storage(settings.data_dir)
    orphans = storage.sweep_incoming()
    if orphans:
        log.info("removed %d orphaned incoming files", orphans)
    validator = ValidationThread(settings, db, storage)
    worker = WorkerThread(Worker(settings, db, storage)) if settings.embedded_worker else None

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        validator.start()
        if worker:
            worker.start()
        try:
            yield
        finally:
            if worker:
                worker.stop()
            validator.stop()
            db.dispose()

    app = FastAPI(title="openft", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    app.state.worker = worker
    app.state.services = Services(
        settings=settings,
        db=db,
        storage=storage,
        catalog=Catalog(settings, storage),
        wake_validator=validator.wake,
    )
    errors.install(app)
    largest_upload = max(settings.max_upload_bytes, settings.max_part_bytes)
    app.add_middleware(BodyLimit, multipart_bytes=largest_upload + FORM_OVERHEAD_BYTES)
    for module in (
        files,
        uploads,
        fine_tuning,
        permissions,
        graders,
        models,
        chat,
        stored_completions,
        responses,
    ):
        guards = [Depends(refuse_unstorable)] if module in CONTROL_PLANE else []
        # On the app itself, not through a /v1 router: FastAPI matches nested routers level by level
        # on every request, and that level cost a create ~470 of its 2777 calls in the request's thread.
        app.include_router(module.router, prefix="/v1", dependencies=guards)
    app.add_api_route("/health", lambda: health(app.state.services), include_in_schema=False)
    install_dashboard(app)  # the dashboard at / (after /v1 and /health, which it never shadows)
    return app
