"""Files and Uploads: FileObject, Upload, UploadPart and their requests."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

UPLOAD_PURPOSES = ("assistants", "batch", "fine-tune", "vision", "user_data", "evals")
MULTIPART_UPLOAD_PURPOSES = ("assistants", "batch", "fine-tune", "vision")
MAX_FILENAME_LENGTH = 1024  # the store's column
MAX_MIME_TYPE_LENGTH = 255  # the store's column


class _OmitNulls(BaseModel):
    """The official schema types these optional fields without null: leave them out when unset."""

    _omit_when_null: tuple[str, ...] = ()

    @model_serializer(mode="wrap")
    def _drop_nulls(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data = handler(self)
        for name in self._omit_when_null:
            if data.get(name) is None:
                data.pop(name, None)
        return data


class FileObject(_OmitNulls):
    _omit_when_null = ("status_details", "expires_at")

    object: Literal["file"] = "file"
    id: str
    bytes: int
    created_at: int
    filename: str
    purpose: str
    status: Literal["uploaded", "processed", "error"]
    status_details: str | None = None
    expires_at: int | None = None


class FileDeleted(BaseModel):
    id: str
    object: Literal["file"] = "file"
    deleted: bool


class ExpiresAfter(BaseModel):
    model_config = ConfigDict(extra="forbid")
    anchor: Literal["created_at"]
    seconds: int = Field(ge=3600, le=2592000)


class CreateUploadRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    filename: str = Field(min_length=1, max_length=MAX_FILENAME_LENGTH)
    purpose: Literal["assistants", "batch", "fine-tune", "vision"]
    bytes: int = Field(ge=0)
    mime_type: str = Field(min_length=1, max_length=MAX_MIME_TYPE_LENGTH)
    expires_after: ExpiresAfter | None = None


class CompleteUploadRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    part_ids: list[str] = Field(min_length=1)
    md5: str | None = None


class Upload(_OmitNulls):
    _omit_when_null = ("file",)

    object: Literal["upload"] = "upload"
    id: str
    created_at: int
    filename: str
    bytes: int
    purpose: str
    status: Literal["pending", "completed", "cancelled", "expired"]
    expires_at: int
    file: FileObject | None = None


class UploadPart(BaseModel):
    object: Literal["upload.part"] = "upload.part"
    id: str
    created_at: int
    upload_id: str
