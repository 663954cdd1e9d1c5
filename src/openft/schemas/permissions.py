"""Checkpoint permissions: CreateFineTuningCheckpointPermissionRequest, FineTuningCheckpointPermission
and the deletion receipt."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_PROJECTS = 100  # project ids in one create request
ProjectId = Annotated[str, Field(min_length=1, max_length=64)]
PermissionOrder = Literal["ascending", "descending"]


class CreatePermissionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    project_ids: list[ProjectId] = Field(min_length=1, max_length=MAX_PROJECTS)


class CheckpointPermission(BaseModel):
    id: str
    object: Literal["checkpoint.permission"] = "checkpoint.permission"
    created_at: int
    project_id: str


class CheckpointPermissionDeleted(BaseModel):
    id: str
    object: Literal["checkpoint.permission"] = "checkpoint.permission"
    deleted: bool
