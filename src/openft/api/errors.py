"""Render every failure in OpenAI's envelope: our APIErrors, request validation, unknown routes, crashes."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException

from openft.errors import APIError, PayloadTooLarge, ServerError
from openft.storage import is_disk_full
from openft.store.db import DatabaseUnavailable

log = logging.getLogger("openft.api")

_TYPE_NAMES = {
    "string_type": "a string",
    "int_type": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "bool_type": "a boolean",
    "list_type": "an array",
    "dict_type": "an object",
    "model_type": "an object",
    "model_attributes_type": "an object",
    "int_parsing": "an integer",
    "float_parsing": "a number",
    "bool_parsing": "a boolean",
    "model_fields_type": "an object",
}


def param_name(loc: tuple) -> str | None:
    parts = list(loc[1:] if loc and loc[0] in ("body", "query", "path", "header") else loc)
    out = ""
    for part in (p for p in parts if p != "[key]"):  # pydantic marks dict-key errors with "[key]"
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or None


def _describe(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    for kind, name in (
        (int, "an integer"),
        (float, "a number"),
        (str, "a string"),
        (list, "an array"),
        (dict, "an object"),
    ):
        if isinstance(value, kind):
            return name
    return type(value).__name__


INVALID_JSON = "We could not parse the JSON body of your request. The OpenAI API expects a JSON payload."


class DatabaseDown(ServerError):
    status = 503


class StorageFull(ServerError):
    status = 507  # Insufficient Storage


def _body_error(kind: str, value) -> APIError:
    """An error about the body as a whole (it has no field to name)."""
    if kind == "missing":
        return APIError(
            "The request body is missing: expected a JSON object sent with 'Content-Type: application/json'.",
            code="missing_required_parameter",
        )
    if isinstance(value, (bytes, str)):  # not read as JSON: the Content-Type was not application/json
        return APIError(
            "The request body must be a JSON object sent with 'Content-Type: application/json'.",
            code="invalid_type",
        )
    return APIError(
        f"The request body must be a JSON object, but got {_describe(value)} instead.", code="invalid_type"
    )


def translate(error: dict) -> APIError:
    """One pydantic error -> an OpenAI-style 400 naming the field."""
    kind, param, ctx = error["type"], param_name(tuple(error["loc"])), error.get("ctx") or {}
    if kind == "json_invalid":
        return APIError(INVALID_JSON, code="invalid_json")
    if param is None and tuple(error["loc"])[:1] == ("body",):
        return _body_error(kind, error.get("input"))
    if kind == "missing":
        return APIError(
            f"Missing required parameter: '{param}'.", param=param, code="missing_required_parameter"
        )
    if kind == "extra_forbidden":
        return APIError(
            f"Unrecognized request argument supplied: {param}", param=param, code="unknown_parameter"
        )
    if kind in _TYPE_NAMES:
        got = _describe(error.get("input"))
        return APIError(
            f"Invalid type for '{param}': expected {_TYPE_NAMES[kind]}, but got {got} instead.",
            param=param,
            code="invalid_type",
        )
    if kind in ("string_too_long", "too_long"):
        what = "string" if kind == "string_too_long" else "array"
        return APIError(
            f"Invalid '{param}': {what} too long. "
            f"Expected a {what} with maximum length {ctx.get('max_length')}.",
            param=param,
            code=f"{what}_above_max_length",
        )
    if kind in ("string_too_short", "too_short"):
        what = "string" if kind == "string_too_short" else "array"
        return APIError(
            f"Invalid '{param}': {what} too short. "
            f"Expected a {what} with minimum length {ctx.get('min_length')}.",
            param=param,
            code=f"{what}_below_min_length",
        )
    if kind in ("greater_than_equal", "greater_than"):
        return APIError(
            f"Invalid '{param}': value below minimum. Expected a value "
            f"{'>=' if kind == 'greater_than_equal' else '>'} {ctx.get('ge', ctx.get('gt'))}, "
            f"but got {error.get('input')!r} instead.",
            param=param,
            code="value_below_minimum",
        )
    if kind in ("less_than_equal", "less_than"):
        return APIError(
            f"Invalid '{param}': value above maximum. Expected a value "
            f"{'<=' if kind == 'less_than_equal' else '<'} {ctx.get('le', ctx.get('lt'))}, "
            f"but got {error.get('input')!r} instead.",
            param=param,
            code="value_above_maximum",
        )
    if kind in ("literal_error", "enum"):
        return APIError(
            f"Invalid value for '{param}': expected {ctx.get('expected')}, but got {error.get('input')!r}.",
            param=param,
            code="invalid_value",
        )
    message = error["msg"].removeprefix("Value error, ")
    return APIError(
        f"Invalid value for '{param}': {message}.",
        param=param,
        code=kind if kind.isidentifier() else "invalid_value",
    )


def install(app: FastAPI) -> None:
    @app.exception_handler(APIError)
    async def _api_error(_request: Request, exc: APIError):
        return JSONResponse(exc.body(), status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError):
        error = translate(exc.errors()[0])
        return JSONResponse(error.body(), status_code=400)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException):
        code = None
        if exc.status_code == 404:
            message = f"Invalid URL ({request.method} {request.url.path})"
        elif exc.status_code == 405:
            message = f"Method {request.method} not allowed for {request.url.path}"
        elif exc.status_code == 413:
            message, code = str(exc.detail), "request_too_large"
        elif exc.status_code == 400 and exc.detail == "There was an error parsing the body":
            message, code = INVALID_JSON, "invalid_json"  # FastAPI's reader failed: too deep, not UTF-8
        else:
            message = str(exc.detail)
        error = (PayloadTooLarge if exc.status_code == 413 else APIError)(message, code=code)
        return JSONResponse(error.body(), status_code=exc.status_code)

    @app.exception_handler(DatabaseUnavailable)
    @app.exception_handler(OperationalError)
    async def _database(request: Request, exc: Exception):
        text = str(exc.orig if isinstance(exc, OperationalError) else exc)
        reason = (text.splitlines() or ["unknown error"])[0][:300]
        log.error("database unavailable on %s %s: %s", request.method, request.url.path, reason)
        error = DatabaseDown(
            f"The server's database cannot be used right now ({reason}). Try again later; "
            "GET /health says what is wrong.",
            code="database_unavailable",
        )
        return JSONResponse(error.body(), status_code=503)

    @app.exception_handler(OSError)
    async def _os_error(request: Request, exc: Exception):
        if not is_disk_full(exc):
            return await _crash(request, exc)
        log.error("data dir full on %s %s: %s", request.method, request.url.path, exc)
        error = StorageFull(
            "The server's data dir has no space left, so nothing was stored. Try again once space is "
            "freed; GET /health says what is wrong.",
            code="storage_full",
        )
        return JSONResponse(error.body(), status_code=error.status)

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        body = {
            "error": {
                "message": "The server had an error while processing your request. Sorry about that!",
                "type": "server_error",
                "param": None,
                "code": None,
            }
        }
        return JSONResponse(body, status_code=500)
