"""Multi-part uploads (the Uploads API) and their parts."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from openft.store.pages import scoped
from openft.store.tables import UploadPartRow, UploadRow


def add_upload(session: Session, *, row: UploadRow) -> UploadRow:
    session.add(row)
    session.flush()
    return row


def get_upload(session: Session, *, project_id: str, upload_id: str) -> UploadRow | None:
    return session.scalar(scoped(UploadRow, project_id).where(UploadRow.id == upload_id))


def add_part(session: Session, *, row: UploadPartRow) -> UploadPartRow:
    session.add(row)
    return row


def upload_parts(session: Session, *, upload: UploadRow) -> list[UploadPartRow]:
    query = select(UploadPartRow).where(UploadPartRow.upload_pk == upload.pk).order_by(UploadPartRow.pk)
    return list(session.scalars(query))


def finish_upload(session: Session, *, upload: UploadRow, status: str, file_id: str | None = None) -> bool:
    """Move a pending upload to ``completed`` or ``cancelled`` in one conditional UPDATE; False when
    another request moved it first (two completes, or a complete and a cancel, racing)."""
    # An UPDATE's result is a CursorResult (it has rowcount); Session.execute is typed as Result.
    result = cast(
        CursorResult[Any],
        session.execute(
            update(UploadRow)
            .where(UploadRow.pk == upload.pk, UploadRow.status == "pending")
            .values(status=status, file_id=file_id)
        ),
    )
    return result.rowcount == 1


def expired_uploads(session: Session, *, now: int) -> list[UploadRow]:
    """Pending uploads past their expiry whose parts may still be on disk."""
    query = select(UploadRow).where(UploadRow.status == "pending", UploadRow.expires_at <= now)
    return list(session.scalars(query))
