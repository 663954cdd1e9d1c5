"""The FastAPI application: routers under /v1, OpenAI-shaped errors, the validation stage."""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from openft.api import chat, errors, files, fine_tuning, graders, models, uploads
from openft.api.deps import Services
from openft.catalog import Catalog
from openft.config import Settings
from openft.storage import Storage
from openft.store.db import Database
from openft.store.migrate import upgrade
from openft.validation_stage import ValidationThread
from openft.worker import Worker, WorkerThread


def create_app(settings: Settings) -> FastAPI:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.resolved_database_url)
    upgrade(db)
    storage = Storage(settings.data_dir)
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
    v1 = APIRouter(prefix="/v1")
    for module in (files, uploads, fine_tuning, graders, models, chat):
        v1.include_router(module.router)
    app.include_router(v1)

    @app.get("/health", include_in_schema=False)
    def health():
        return {"status": "ok"}

    return app
