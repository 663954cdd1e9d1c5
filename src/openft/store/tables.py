"""Database tables. Every table has an integer ``pk`` (stable order for newest-first cursors) and a
public string ``id``; every user object carries the ``project_id`` that owns it."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


def table_of(row: type[Base]) -> Table:
    """The Core table behind a row class, for statements that skip the ORM (typed as a Table,
    which ``__table__`` is not)."""
    return Base.metadata.tables[row.__tablename__]


class FileRow(Base):
    __tablename__ = "files"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(64), unique=True)
    project_id: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(1024))
    purpose: Mapped[str] = mapped_column(String(32))
    bytes: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    status: Mapped[str] = mapped_column(String(16))
    status_details: Mapped[str | None] = mapped_column(Text, nullable=True)
    path: Mapped[str] = mapped_column(String(1024))  # relative to the data dir

    __table_args__ = (Index("ix_files_project_purpose", "project_id", "purpose"),)


class UploadRow(Base):
    __tablename__ = "uploads"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(64), unique=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    filename: Mapped[str] = mapped_column(String(1024))
    purpose: Mapped[str] = mapped_column(String(32))
    bytes: Mapped[int] = mapped_column(BigInteger)
    mime_type: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[int] = mapped_column(BigInteger)
    file_expires_after: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    file_id: Mapped[str | None] = mapped_column(String(64), nullable=True)


class UploadPartRow(Base):
    __tablename__ = "upload_parts"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(64), unique=True)
    upload_pk: Mapped[int] = mapped_column(ForeignKey("uploads.pk", ondelete="CASCADE"), index=True)
    created_at: Mapped[int] = mapped_column(BigInteger)
    bytes: Mapped[int] = mapped_column(BigInteger)
    path: Mapped[str] = mapped_column(String(1024))


class JobRow(Base):
    __tablename__ = "jobs"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(64), unique=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    organization_id: Mapped[str] = mapped_column(String(64))
    organization_name: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[int] = mapped_column(BigInteger)
    model: Mapped[str] = mapped_column(String(512))  # as shown: snapshot name or ft: parent
    base_model: Mapped[str] = mapped_column(String(512))  # what training loads: base id or ft: parent
    # The project owning an ft: parent, as resolved at creation (this one, or one that shared it): the
    # trainer locates the parent there, so a permission deleted later does not strand the job.
    base_project_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    status: Mapped[str] = mapped_column(String(32), index=True)
    training_file: Mapped[str] = mapped_column(String(64))
    validation_file: Mapped[str | None] = mapped_column(String(64), nullable=True)
    suffix: Mapped[str | None] = mapped_column(String(64), nullable=True)
    seed: Mapped[int] = mapped_column(BigInteger)
    method: Mapped[dict] = mapped_column(JSON)  # {"type": ..., "<type>": {...}} as requested
    hyperparameters: Mapped[dict | None] = mapped_column(JSON, nullable=True)  # resolved, once running
    # What the validation stage learned of each file, for the trainer: {"training": {"file_id",
    # "format", "n_examples"}, "validation": {...} or absent}; None until the files are validated.
    validated_files: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    integrations: Mapped[list | None] = mapped_column(JSON, nullable=True)
    metadata_: Mapped[dict | None] = mapped_column("metadata", JSON(none_as_null=True), nullable=True)
    fine_tuned_model: Mapped[str | None] = mapped_column(String(512), nullable=True)
    finished_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    trained_tokens: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    estimated_finish: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    error: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    result_files: Mapped[list] = mapped_column(JSON, default=list)
    worker_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    heartbeat_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    started_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # Starts so far: the claim token a training process writes under (store.jobs.claimed_job).
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Starts that ended with the worker or the training process lost: what bounds recovery.
    crashes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class EventRow(Base):
    __tablename__ = "job_events"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(64), unique=True)
    job_pk: Mapped[int] = mapped_column(ForeignKey("jobs.pk", ondelete="CASCADE"), index=True)
    created_at: Mapped[int] = mapped_column(BigInteger)
    level: Mapped[str] = mapped_column(String(8))
    type: Mapped[str] = mapped_column(String(16))
    message: Mapped[str] = mapped_column(Text)
    data: Mapped[dict | None] = mapped_column(JSON, nullable=True)


class CheckpointRow(Base):
    __tablename__ = "checkpoints"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(64), unique=True)
    job_pk: Mapped[int] = mapped_column(ForeignKey("jobs.pk", ondelete="CASCADE"), index=True)
    created_at: Mapped[int] = mapped_column(BigInteger)
    step_number: Mapped[int] = mapped_column(Integer)
    model_name: Mapped[str] = mapped_column(String(512), unique=True)
    metrics: Mapped[dict] = mapped_column(JSON)
    path: Mapped[str] = mapped_column(String(1024))


class ModelRow(Base):
    """A fine-tuned model or checkpoint that can be listed, used for inference and deleted."""

    __tablename__ = "models"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(512), unique=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    owned_by: Mapped[str] = mapped_column(String(128))
    job_id: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[int] = mapped_column(BigInteger)
    base_model: Mapped[str] = mapped_column(String(512))
    path: Mapped[str] = mapped_column(String(1024))
    deleted_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class PermissionRow(Base):
    """A checkpoint permission: the owner of a model (fine-tuned or checkpoint) shares it with a project."""

    __tablename__ = "checkpoint_permissions"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(64), unique=True)
    model_pk: Mapped[int] = mapped_column(ForeignKey("models.pk", ondelete="CASCADE"), index=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)  # the project it is shared with
    created_at: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (UniqueConstraint("model_pk", "project_id", name="uq_checkpoint_permissions_project"),)


class StoredCompletionRow(Base):
    """A chat completion created with ``store: true``: the request as sent and the completion as
    returned (without its metadata, which lives in its own column and can change)."""

    __tablename__ = "stored_completions"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(64), unique=True)
    project_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[int] = mapped_column(BigInteger)
    model: Mapped[str] = mapped_column(String(512))
    metadata_: Mapped[dict | None] = mapped_column("metadata", JSON(none_as_null=True), nullable=True)
    request: Mapped[dict] = mapped_column(JSON)
    completion: Mapped[dict] = mapped_column(JSON)

    __table_args__ = (Index("ix_stored_completions_project_model", "project_id", "model"),)


class ResponseRow(Base):
    """A stored response: the request, the Response object, the request's input items (as
    ``input_items`` lists them) and the whole conversation as chat messages (instructions aside),
    which a response naming this one as ``previous_response_id`` continues."""

    __tablename__ = "responses"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(64), unique=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[int] = mapped_column(BigInteger)
    request: Mapped[dict] = mapped_column(JSON)
    response: Mapped[dict] = mapped_column(JSON)
    input_items: Mapped[list] = mapped_column(JSON)
    conversation: Mapped[list] = mapped_column(JSON)
