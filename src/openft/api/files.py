"""/v1/files: upload (streamed to disk), list, retrieve, delete, content."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from openft import ids
from openft.api.deps import Caller, Svc
from openft.api.multipart import receive_form
from openft.api.objects import file_object, list_response
from openft.errors import InvalidRequest, file_not_found
from openft.schemas.files import UPLOAD_PURPOSES, FileDeleted, FileObject
from openft.storage import first_non_jsonl_line
from openft.store import files as file_store
from openft.store.tables import FileRow

router = APIRouter(tags=["files"])
_ASCII_DIGITS = re.compile(
    r"[0-9]{1,10}"
)  # str.isdigit() also takes "³" and "٣", which int() refuses or reads


def _expiry(fields: dict[str, str], created_at: int, purpose: str) -> int | None:
    anchor, seconds = fields.get("expires_after[anchor]"), fields.get("expires_after[seconds]")
    if anchor is None and seconds is None:
        return created_at + 30 * 86400 if purpose == "batch" else None
    if anchor != "created_at":
        raise InvalidRequest(
            "Invalid 'expires_after.anchor': expected 'created_at'.", param="expires_after.anchor"
        )
    if seconds is None or not _ASCII_DIGITS.fullmatch(seconds) or not 3600 <= int(seconds) <= 2592000:
        raise InvalidRequest(
            "Invalid 'expires_after.seconds': expected an integer between 3600 and 2592000.",
            param="expires_after.seconds",
        )
    return created_at + int(seconds)


def check_jsonl(path, purpose: str) -> None:
    """A fine-tune upload must be JSONL: every line one JSON object."""
    if purpose != "fine-tune":
        return
    bad = first_non_jsonl_line(path)
    if bad is not None:
        line, reason = bad
        raise InvalidRequest(
            "Expected file to have JSONL format, where every line is a valid JSON dictionary. "
            f"Line {line} is not a dictionary: {reason}.",
            param="file",
            code="invalid_file_format",
        )


def save_file(
    svc,
    caller,
    *,
    temp,
    filename: str,
    size: int,
    purpose: str,
    expires_at: int | None,
    created_at: int,
    also: Callable[[Session, FileRow], None] | None = None,
) -> FileRow:
    """Move accepted bytes into place and record the file (shared with the Uploads API).

    ``also`` runs in the transaction that adds the row: if it raises, the file is neither
    recorded nor kept on disk."""
    file_id = ids.file_id()
    relative = svc.storage.keep_file(temp, file_id)
    row = FileRow(
        id=file_id,
        project_id=caller.project_id,
        filename=filename,
        purpose=purpose,
        bytes=size,
        created_at=created_at,
        expires_at=expires_at,
        status="processed",
        path=relative,
    )
    try:
        with svc.db.write() as session:
            added = file_store.add_file(session, row=row)
            if also is not None:
                also(session, added)
            return added
    except BaseException:
        svc.storage.remove(relative)
        raise


def _check_and_save(svc, caller, received, purpose: str, expires_at: int | None, created_at: int) -> FileRow:
    """The blocking part of an upload, in one thread-pool hop."""
    check_jsonl(received.path, purpose)
    return save_file(
        svc,
        caller,
        temp=received.path,
        filename=received.filename,
        size=received.size,
        purpose=purpose,
        expires_at=expires_at,
        created_at=created_at,
    )


@router.post("/files", response_model=FileObject)
async def create_file(request: Request, svc: Svc, caller: Caller):
    form = await receive_form(
        request,
        new_path=svc.storage.incoming,
        max_file_bytes=svc.settings.max_upload_bytes,
        keep=frozenset({"file"}),
    )
    received = form.files.get("file")
    try:
        purpose = form.fields.get("purpose")
        if received is None:
            raise InvalidRequest(
                "Missing required parameter: 'file'.", param="file", code="missing_required_parameter"
            )
        if purpose is None:
            raise InvalidRequest(
                "Missing required parameter: 'purpose'.", param="purpose", code="missing_required_parameter"
            )
        if purpose not in UPLOAD_PURPOSES:
            raise InvalidRequest(
                f"Invalid value for 'purpose': '{purpose}'. Expected one of {', '.join(UPLOAD_PURPOSES)}.",
                param="purpose",
                code="invalid_value",
            )
        created_at = ids.now()
        expires_at = _expiry(form.fields, created_at, purpose)
        row = await run_in_threadpool(_check_and_save, svc, caller, received, purpose, expires_at, created_at)
    finally:
        for leftover in form.files.values():
            svc.storage.discard(leftover.path)
    return file_object(row)


@router.get("/files")
def list_files(
    svc: Svc,
    caller: Caller,
    purpose: str | None = None,
    limit: int = Query(10000, ge=0, le=10000),
    order: Literal["asc", "desc"] = "desc",
    after: str | None = None,
):
    with svc.db.read() as session:
        page = file_store.list_files(
            session,
            project_id=caller.project_id,
            purpose=purpose,
            after=after,
            limit=limit,
            ascending=order == "asc",
        )
        return list_response([file_object(row) for row in page.items], page.has_more, with_ids=True)


def _get(svc, caller, file_id: str) -> FileRow:
    with svc.db.read() as session:
        row = file_store.get_file(session, project_id=caller.project_id, file_id=file_id)
    if row is None:
        raise file_not_found(file_id)
    return row


@router.get("/files/{file_id}", response_model=FileObject)
def retrieve_file(file_id: str, svc: Svc, caller: Caller):
    return file_object(_get(svc, caller, file_id))


@router.delete("/files/{file_id}", response_model=FileDeleted)
def delete_file(file_id: str, svc: Svc, caller: Caller):
    with svc.db.write() as session:
        row = file_store.get_file(session, project_id=caller.project_id, file_id=file_id)
        if row is None:
            raise file_not_found(file_id)
        file_store.delete_file(session, row=row)
    svc.storage.remove(row.path)
    return FileDeleted(id=file_id, deleted=True)


@router.get("/files/{file_id}/content")
def file_content(file_id: str, svc: Svc, caller: Caller):
    row = _get(svc, caller, file_id)
    return FileResponse(
        svc.storage.path(row.path), media_type="application/octet-stream", filename=row.filename
    )
