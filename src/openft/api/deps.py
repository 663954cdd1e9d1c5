"""FastAPI dependencies: the per-process services and the caller's principal."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from openft.api.auth import Principal, authenticate
from openft.catalog import Catalog, ModelTarget, ModelUnavailable
from openft.config import Settings
from openft.errors import model_not_found
from openft.storage import Storage
from openft.store.db import Database


@dataclass
class Services:
    settings: Settings
    db: Database
    storage: Storage
    catalog: Catalog
    wake_validator: Callable[[], None]  # nudges the validation stage after a job is created

    def locate_model(self, project_id: str, name: str) -> ModelTarget:
        """What to load to answer with ``name`` for the caller's project; a 404 when nothing."""
        with self.db.read() as session:
            try:
                return self.catalog.locate(session, project_id=project_id, name=name)
            except ModelUnavailable:
                raise model_not_found(name) from None


async def get_services(request: Request) -> Services:
    """Async for the reason authenticate is: no thread-pool hop to read an attribute."""
    return request.app.state.services


Svc = Annotated[Services, Depends(get_services)]
Caller = Annotated[Principal, Depends(authenticate)]
