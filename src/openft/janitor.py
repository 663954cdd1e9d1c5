"""Housekeeping the API process runs between validation passes: expired files and the parts of
expired uploads leave the store and the disk, and so do bytes orphaned in incoming/."""

from __future__ import annotations

import logging

from openft import ids
from openft.storage import Storage
from openft.store import files as file_store
from openft.store import uploads as upload_store
from openft.store.db import Database

log = logging.getLogger("openft.janitor")


def remove_expired(db: Database, storage: Storage) -> int:
    now = ids.now()
    with db.write() as session:
        files = file_store.expired_files(session, now=now)
        paths = [row.path for row in files]
        for row in files:
            file_store.delete_file(session, row=row)
        uploads = upload_store.expired_uploads(session, now=now)
        for upload in uploads:
            upload.status = "expired"
            paths.append(f"uploads/{upload.id}")
    for path in paths:
        storage.remove(path)
    if paths:
        log.info("removed %d expired files and uploads", len(paths))
    orphans = storage.sweep_incoming()
    if orphans:
        log.info("removed %d orphaned incoming files", orphans)
    return len(paths) + orphans
