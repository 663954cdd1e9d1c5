"""FastAPI dependencies: the per-process services and the caller's principal."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from openft.api.auth import Principal, authenticate
from openft.catalog import Catalog
from openft.config import Settings
from openft.storage import Storage
from openft.store.db import Database


@dataclass
class Services:
    settings: Settings
    db: Database
    storage: Storage
    catalog: Catalog
    wake_validator: callable  # nudges the validation stage after a job is created


def get_services(request: Request) -> Services:
    return request.app.state.services


Svc = Annotated[Services, Depends(get_services)]
Caller = Annotated[Principal, Depends(authenticate)]
