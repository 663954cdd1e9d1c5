"""Grading: the grader and the GradeContext a reinforcement job's rewards are computed with.

The context is the API's (``GradeContext.from_settings``): python graders run in the configured
sandbox; model graders (``score_model``, ``label_model`` inside ``multi``) call the configured
external endpoint when ``grader_api_base`` is set, else an inference engine of the training
process itself, which resolves grader model names like a chat request of the job's project (base
models, aliases, the project's ``ft:`` models). The engine loads on the first model grading only.
"""

from __future__ import annotations

from openft.catalog import Catalog, ModelUnavailable
from openft.config import Settings
from openft.graders.context import GradeContext
from openft.graders.model_client import ModelServerError
from openft.schemas.graders import parse_grader
from openft.serve.grader_client import EngineModelClient
from openft.storage import Storage
from openft.store.db import Database


def job_grader(method: dict):
    """The reinforcement method's grader as a model (it was validated when the job was created)."""
    return parse_grader(method["reinforcement"]["grader"], allow_label_model=False)


def grade_context(settings: Settings, db: Database, storage: Storage, project_id: str) -> GradeContext:
    from openft.serve.engine import LazyEngine

    catalog = Catalog(settings, storage)

    def resolve(name: str):
        try:
            with db.read() as session:
                return catalog.locate(session, project_id=project_id, name=name)
        except ModelUnavailable as exc:
            raise ModelServerError(str(exc)) from None

    def shown(name: str) -> str:
        resolved = catalog.resolve(name)
        return resolved.shown if resolved is not None else name

    engine = EngineModelClient(resolve, LazyEngine(settings).get, shown)
    return GradeContext.from_settings(settings, engine_client=engine)
