"""The dashboard: a small vanilla-JS single-page app served by the API at ``/``.

The page is static (index.html and ES modules under static/, no build step); it calls the same
/v1 API as any client, with the key the login form keeps in the browser's localStorage. Nothing
here is authenticated itself: the static files hold no data, and every call they make carries the
key. Only ``/`` and ``/web/...`` are claimed, so /v1 and /health are never shadowed.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"


def install(app: FastAPI) -> None:
    """Serve the dashboard's page at ``/`` and its assets at ``/web/``."""
    app.add_api_route("/", lambda: FileResponse(STATIC / "index.html"), include_in_schema=False)
    app.mount("/web", StaticFiles(directory=STATIC), name="web")
