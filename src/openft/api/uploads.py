"""/v1/uploads: large files in parts (create, add part, complete with ordered part ids and md5, cancel)."""

from __future__ import annotations

import hashlib
import os

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from openft import ids
from openft.api.deps import Caller, Svc
from openft.api.files import check_jsonl, save_file
from openft.api.multipart import receive_form
from openft.api.objects import upload_object, upload_part_object
from openft.errors import InvalidRequest, NotFound
from openft.schemas.files import (
    CompleteUploadRequest,
    CreateUploadRequest,
    Upload,
    UploadPart,
)
from openft.store import uploads as upload_store
from openft.store.tables import UploadPartRow, UploadRow

router = APIRouter(tags=["uploads"])


def _pending(session, caller, upload_id: str) -> UploadRow:
    row = upload_store.get_upload(session, project_id=caller.project_id, upload_id=upload_id)
    if row is None:
        raise NotFound(f"No such Upload object: {upload_id}", param="upload_id", code="upload_not_found")
    if row.status != "pending" or row.expires_at <= ids.now():
        status = "expired" if row.status == "pending" else row.status
        raise InvalidRequest(
            f"Upload {upload_id} is {status}, not pending.", param="upload_id", code="invalid_upload_state"
        )
    return row


def _finish(session, caller, upload_id: str, status: str, file_id: str | None = None) -> UploadRow:
    """The pending upload moved to ``status``, or the same 400 as ``_pending`` when a concurrent
    request moved it first."""
    row = _pending(session, caller, upload_id)
    if not upload_store.finish_upload(session, upload=row, status=status, file_id=file_id):
        session.refresh(row)
        raise InvalidRequest(
            f"Upload {upload_id} is {row.status}, not pending.",
            param="upload_id",
            code="invalid_upload_state",
        )
    return row


@router.post("/uploads", response_model=Upload)
def create_upload(body: CreateUploadRequest, svc: Svc, caller: Caller):
    if body.bytes > svc.settings.max_multipart_upload_bytes:
        raise InvalidRequest(
            f"Invalid 'bytes': uploads are limited to {svc.settings.max_multipart_upload_bytes} bytes.",
            param="bytes",
            code="file_too_large",
        )
    created = ids.now()
    row = UploadRow(
        id=ids.upload_id(),
        project_id=caller.project_id,
        filename=body.filename,
        purpose=body.purpose,
        bytes=body.bytes,
        mime_type=body.mime_type,
        status="pending",
        created_at=created,
        expires_at=created + svc.settings.upload_expiry_seconds,
        file_expires_after=body.expires_after.seconds if body.expires_after else None,
    )
    with svc.db.write() as session:
        upload_store.add_upload(session, row=row)
    return upload_object(row, None, now=created)


@router.post("/uploads/{upload_id}/parts", response_model=UploadPart)
async def add_part(upload_id: str, request: Request, svc: Svc, caller: Caller):
    with svc.db.read() as session:
        _pending(session, caller, upload_id)
    form = await receive_form(
        request,
        new_path=svc.storage.incoming,
        max_file_bytes=svc.settings.max_part_bytes,
        keep=frozenset({"data"}),
    )
    received = form.files.get("data")
    if received is None:
        raise InvalidRequest(
            "Missing required parameter: 'data'.", param="data", code="missing_required_parameter"
        )
    part_id = ids.part_id()
    relative = svc.storage.keep_part(received.path, upload_id, part_id)

    def record():
        with svc.db.write() as session:
            upload = _pending(session, caller, upload_id)
            row = UploadPartRow(
                id=part_id, upload_pk=upload.pk, created_at=ids.now(), bytes=received.size, path=relative
            )
            return upload_store.add_part(session, row=row)

    try:
        row = await run_in_threadpool(record)
    except Exception:
        svc.storage.remove(relative)
        raise
    return upload_part_object(row, upload_id)


def _assemble(svc, parts: list[UploadPartRow], order: list[str]):
    by_id = {part.id: part for part in parts}
    unknown = [part_id for part_id in order if part_id not in by_id]
    if unknown:
        raise InvalidRequest(
            f"Invalid 'part_ids': unknown part {unknown[0]}.", param="part_ids", code="invalid_value"
        )
    if len(set(order)) != len(order):
        raise InvalidRequest(
            "Invalid 'part_ids': a part is listed twice.", param="part_ids", code="invalid_value"
        )
    target, digest, size = svc.storage.incoming(), hashlib.md5(), 0
    try:
        with open(target, "wb") as out:
            for part_id in order:
                with open(svc.storage.path(by_id[part_id].path), "rb") as part:
                    while chunk := part.read(1024 * 1024):
                        out.write(chunk)
                        digest.update(chunk)
                        size += len(chunk)
    except BaseException:
        svc.storage.discard(target)
        raise
    return target, digest.hexdigest(), size


@router.post("/uploads/{upload_id}/complete", response_model=Upload)
def complete_upload(upload_id: str, body: CompleteUploadRequest, svc: Svc, caller: Caller):
    with svc.db.read() as session:
        upload = _pending(session, caller, upload_id)
        parts = upload_store.upload_parts(session, upload=upload)
    try:
        target, md5, size = _assemble(svc, parts, body.part_ids)
    except FileNotFoundError:  # a racing complete or cancel finished the upload and removed its parts
        with svc.db.read() as session:
            _pending(session, caller, upload_id)
        raise
    try:
        if size != upload.bytes:
            raise InvalidRequest(
                f"The uploaded parts total {size} bytes, "
                f"but the upload was created with bytes={upload.bytes}.",
                param="bytes",
                code="bytes_mismatch",
            )
        if body.md5 is not None and body.md5.lower() != md5:
            raise InvalidRequest(
                f"Invalid 'md5': the parts have md5 {md5}, not {body.md5}.", param="md5", code="md5_mismatch"
            )
        check_jsonl(target, upload.purpose)
        created = ids.now()
        expires = created + upload.file_expires_after if upload.file_expires_after else None
        done = {}

        def finish(session, file_row):  # in the file's own transaction: one file per upload, whoever races
            done["upload"] = _finish(session, caller, upload_id, "completed", file_id=file_row.id)

        file_row = save_file(
            svc,
            caller,
            temp=target,
            filename=upload.filename,
            size=size,
            purpose=upload.purpose,
            expires_at=expires,
            created_at=created,
            also=finish,
        )
    finally:
        if os.path.exists(target):
            svc.storage.discard(target)
    svc.storage.remove(f"uploads/{upload_id}")
    return upload_object(done["upload"], file_row, now=ids.now())


@router.post("/uploads/{upload_id}/cancel", response_model=Upload)
def cancel_upload(upload_id: str, svc: Svc, caller: Caller):
    with svc.db.write() as session:
        upload = _finish(session, caller, upload_id, "cancelled")
    svc.storage.remove(f"uploads/{upload_id}")
    return upload_object(upload, None, now=ids.now())
