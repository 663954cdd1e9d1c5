"""`score_model` and `label_model`: a model reads the rendered input and answers in JSON.

The grader model is called with structured output: `{"steps": [{"description", "conclusion"}],
"result": number}` for score_model (the reward is `result` clamped to `range`, [0, 1] by default)
and the same with `result` one of `labels` for label_model (reward 1 when it is a passing label,
else 0). A refusal is a `model_grader_refusal_error`, an answer that does not parse or a result of
the wrong kind a `model_grader_parse_error`, a failed call a `model_grader_server_error`; the
tokens used are recorded either way.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from typing import Any

from openft.graders.model_client import Completion, ModelClient, ModelServerError
from openft.graders.result import GradeResult, GraderFailure
from openft.graders.sample import Namespaces
from openft.schemas.graders import InputAudio, InputImage, LabelModelGrader, Message, ScoreModelGrader

__all__ = ["grade_model", "label_schema", "render_messages", "score_schema"]

_STEP = {
    "type": "object",
    "properties": {"description": {"type": "string"}, "conclusion": {"type": "string"}},
    "required": ["description", "conclusion"],
    "additionalProperties": False,
}


def _schema(result: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"steps": {"type": "array", "items": _STEP}, "result": result},
        "required": ["steps", "result"],
        "additionalProperties": False,
    }


def score_schema() -> dict[str, Any]:
    return _schema({"type": "number"})


def label_schema(labels: list[str]) -> dict[str, Any]:
    return _schema({"type": "string", "enum": list(labels)})


def render_messages(messages: list[Message], names: Namespaces) -> list[dict[str, Any]]:
    """The grader's input as chat-completions messages, every template rendered."""
    return [{"role": m.role, "content": _content(m.content, names)} for m in messages]


def _content(content, names: Namespaces):
    if isinstance(content, str):
        return names.render(content)
    parts = content if isinstance(content, list) else [content]
    return [_part(part, names) for part in parts]


def _part(part, names: Namespaces) -> dict[str, Any]:
    if isinstance(part, str):
        return {"type": "text", "text": names.render(part)}
    if isinstance(part, InputImage):
        image = {"url": names.render(part.image_url)}
        return {"type": "image_url", "image_url": {**image, "detail": part.detail} if part.detail else image}
    if isinstance(part, InputAudio):
        audio = part.input_audio
        return {
            "type": "input_audio",
            "input_audio": {"data": names.render(audio.data), "format": audio.format},
        }
    return {"type": "text", "text": names.render(part.text)}


def grade_model(
    grader: ScoreModelGrader | LabelModelGrader, names: Namespaces, client: ModelClient | None
) -> GradeResult:
    if client is None:
        raise GraderFailure("model_grader_server_error", "no grader model is available on this server")
    messages = render_messages(grader.input, names)
    if isinstance(grader, ScoreModelGrader):
        schema, sampling = score_schema(), grader.sampling_params
    else:
        schema, sampling = label_schema(grader.labels), None
    try:
        completion = client.complete(grader.model, messages, json_schema=schema, sampling=sampling)
    except ModelServerError as exc:
        raise GraderFailure("model_grader_server_error", str(exc)) from None
    result = GradeResult(
        grader.name,
        grader.type,
        usage={completion.model: completion.usage},
        sampled_model_name=completion.model,
    )
    try:
        answer = _answer(completion)
        if isinstance(grader, ScoreModelGrader):
            reward = _score(answer, grader.bounds)
        else:
            reward = _label(answer, grader)
    except GraderFailure as failure:
        return replace(result, errors=failure.errors)
    return replace(result, reward=reward)


def _answer(completion: Completion) -> Any:
    if completion.refusal:
        raise GraderFailure("model_grader_refusal_error")
    try:
        data = json.loads(completion.text or "")
    except ValueError:
        raise GraderFailure("model_grader_parse_error") from None
    if not isinstance(data, dict) or "result" not in data:
        raise GraderFailure("model_grader_parse_error")
    return data["result"]


def _score(result: Any, bounds: tuple[float, float]) -> float:
    if isinstance(result, bool) or not isinstance(result, (int, float)) or not math.isfinite(result):
        raise GraderFailure("model_grader_parse_error")
    low, high = bounds
    return min(high, max(low, float(result)))


def _label(result: Any, grader: LabelModelGrader) -> float:
    if not isinstance(result, str) or result not in grader.labels:
        raise GraderFailure("model_grader_parse_error")
    return 1.0 if result in grader.passing_labels else 0.0
