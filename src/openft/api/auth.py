"""Bearer-key authentication: each key maps to an organization and a project."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from openft.config import KeyGrant, Settings
from openft.errors import AuthenticationFailed


@dataclass(frozen=True)
class Principal:
    organization_id: str
    organization_name: str  # slug used in ft: model names
    project_id: str


def _principal(grant: KeyGrant) -> Principal:
    return Principal(grant.organization, grant.slug, grant.project)


def _masked(key: str) -> str:
    return key[:3] + "*" * 8 + key[-4:] if len(key) > 8 else "*" * len(key)


async def authenticate(request: Request) -> Principal:
    """A dependency of every route. Async although it awaits nothing: FastAPI runs a sync dependency
    in its thread pool, a thread hop per request that costs more than the check itself."""
    settings = request.app.state.settings
    header = request.headers.get("authorization", "")
    scheme, _, key = header.partition(" ")
    key = key.strip()
    if settings.open_access:
        return _principal(KeyGrant())
    if scheme.lower() != "bearer" or not key:
        raise AuthenticationFailed(
            "You didn't provide an API key. You need to provide your API key in an Authorization header "
            "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
        )
    grant = settings.api_keys.get(key)
    if grant is None:
        raise AuthenticationFailed(f"Incorrect API key provided: {_masked(key)}.", code="invalid_api_key")
    return _principal(grant)


def organization_projects(settings: Settings, organization_id: str) -> set[str]:
    """The projects of an organization: those its keys grant (the default one without keys)."""
    grants = settings.api_keys.values() if not settings.open_access else [KeyGrant()]
    return {grant.project for grant in grants if grant.organization == organization_id}
