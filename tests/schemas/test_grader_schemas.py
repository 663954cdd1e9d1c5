"""Grader wire models: the reference's examples echo unchanged; bad graders fail at the right loc."""

import copy
import json

import pytest
from pydantic import TypeAdapter, ValidationError

from openft.schemas.graders import (
    FineTuningGrader,
    Grader,
    LabelModelGrader,
    MultiGrader,
    PythonGrader,
    ScoreModelGrader,
    StringCheckGrader,
    TextSimilarityGrader,
    parse_grader,
)

GRADER = TypeAdapter(Grader)
FINE_TUNING = TypeAdapter(FineTuningGrader)

STRING_CHECK = {  # reference 2.1 / 2.10, seed create-job example, spec x-oaiMeta
    "type": "string_check",
    "name": "Example string check grader",
    "input": "{{sample.output_text}}",
    "reference": "{{item.label}}",
    "operation": "eq",
}
SDK_STRING_CHECK = {  # openai-python test_method_create_with_all_params (seed)
    "input": "input",
    "name": "name",
    "operation": "eq",
    "reference": "reference",
    "type": "string_check",
}
TEXT_SIMILARITY = {  # reference 6.3 / spec x-oaiMeta
    "type": "text_similarity",
    "name": "Example text similarity grader",
    "input": "{{sample.output_text}}",
    "reference": "{{item.label}}",
    "evaluation_metric": "fuzzy_match",
}
PYTHON = {  # reference 6.4
    "type": "python",
    "name": "…",
    "source": "def grade(sample, item) -> float:\n    return 1.0",
    "image_tag": "2025-05-08",
}
PYTHON_SPEC = {  # spec x-oaiMeta
    "type": "python",
    "name": "Example python grader",
    "image_tag": "2025-05-08",
    "source": '\ndef grade(sample: dict, item: dict) -> float:\n    """\n    Returns 1.0 if `output_text` '
    'equals `label`, otherwise 0.0.\n    """\n    output = sample.get("output_text")\n'
    '    label = item.get("label")\n    return 1.0 if output == label else 0.0\n',
}
SCORE_MODEL = {  # reference 6.5
    "type": "score_model",
    "name": "…",
    "model": "o4-mini-2025-04-16",
    "input": [
        {"role": "system", "content": "You are an expert grader. …"},
        {
            "role": "user",
            "content": "Reference: {{ item.reference_answer }}. Model answer: {{ sample.output_text }}",
        },
    ],
    "range": [0, 1],
    "sampling_params": {
        "seed": 42,
        "top_p": 1,
        "temperature": 1,
        "max_completions_tokens": 32768,
        "reasoning_effort": "medium",
    },
}
SCORE_MODEL_SPEC = {  # spec x-oaiMeta (a Python literal there; image with "file_id": null)
    "type": "score_model",
    "name": "Example score model grader",
    "input": [
        {
            "role": "user",
            "content": [
                {
                    "type": "input_text",
                    "text": "Score how close the reference answer is to the model answer. Score 1.0 if "
                    "they are the same and 0.0 if they are different. "
                    "Return just a floating point score\n\n Reference "
                    "answer: {{item.label}}\n\n Model answer: {{sample.output_text}}",
                },
                {
                    "type": "input_image",
                    "image_url": "https://example.com/reference.png",
                    "file_id": None,
                    "detail": "auto",
                },
            ],
        }
    ],
    "model": "gpt-5-mini",
    "sampling_params": {
        "temperature": 1,
        "top_p": 1,
        "seed": 42,
        "max_completions_tokens": 32768,
        "reasoning_effort": "medium",
    },
}
LABEL_MODEL = {  # reference 6.6 / spec x-oaiMeta
    "type": "label_model",
    "name": "First label grader",
    "model": "gpt-4o-2024-08-06",
    "input": [
        {
            "type": "message",
            "role": "system",
            "content": {
                "type": "input_text",
                "text": (
                    "Classify the sentiment of the following statement as one of "
                    "positive, neutral, or negative"
                ),
            },
        },
        {
            "type": "message",
            "role": "user",
            "content": {"type": "input_text", "text": "Statement: {{item.response}}"},
        },
    ],
    "labels": ["positive", "neutral", "negative"],
    "passing_labels": ["positive"],
}
MULTI = {  # reference 6.7
    "type": "multi",
    "name": "…",
    "graders": {
        "name": {
            "name": "name_grader",
            "type": "text_similarity",
            "input": "{{sample.output_json.name}}",
            "reference": "{{item.name}}",
            "evaluation_metric": "fuzzy_match",
        },
        "email": {
            "name": "email_grader",
            "type": "string_check",
            "input": "{{sample.output_json.email}}",
            "reference": "{{item.email}}",
            "operation": "eq",
        },
    },
    "calculate_output": "(name + email) / 2",
}
MULTI_WITH_LABELS = {
    "type": "multi",
    "name": "compliance",
    "graders": {"compliant": LABEL_MODEL, "explanation": SCORE_MODEL},
    "calculate_output": "0.5 * compliant + 0.5 * explanation",
}

EXAMPLES = {
    "string_check": (STRING_CHECK, StringCheckGrader),
    "sdk_string_check": (SDK_STRING_CHECK, StringCheckGrader),
    "text_similarity": (TEXT_SIMILARITY, TextSimilarityGrader),
    "python": (PYTHON, PythonGrader),
    "python_spec": (PYTHON_SPEC, PythonGrader),
    "score_model": (SCORE_MODEL, ScoreModelGrader),
    "label_model": (LABEL_MODEL, LabelModelGrader),
    "multi": (MULTI, MultiGrader),
    "multi_with_labels": (MULTI_WITH_LABELS, MultiGrader),
}


def without_none(value):
    if isinstance(value, dict):
        return {k: without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_none(v) for v in value]
    return value


def errors(data, adapter=GRADER):
    with pytest.raises(ValidationError) as info:
        adapter.validate_python(copy.deepcopy(data))
    return [(e["loc"], e["type"], e["msg"]) for e in info.value.errors()]


def with_changes(base, **changes):
    return {**copy.deepcopy(base), **changes}


@pytest.mark.parametrize("key", sorted(EXAMPLES))
def test_reference_examples_are_accepted_and_echoed(key):
    data, model = EXAMPLES[key]
    grader = GRADER.validate_python(copy.deepcopy(data))
    assert type(grader) is model
    assert grader.model_dump(exclude_none=True) == data
    assert GRADER.validate_json(json.dumps(data)).model_dump(mode="json", exclude_none=True) == data


def test_spec_score_model_example_echoes_without_nulls():
    grader = GRADER.validate_python(copy.deepcopy(SCORE_MODEL_SPEC))
    assert grader.model_dump(exclude_none=True) == without_none(SCORE_MODEL_SPEC)
    assert grader.bounds == (0.0, 1.0)


@pytest.mark.parametrize(
    "key", ["string_check", "text_similarity", "python", "score_model", "multi", "multi_with_labels"]
)
def test_fine_tuning_grader_accepts_all_but_label_model(key):
    data, model = EXAMPLES[key]
    assert type(FINE_TUNING.validate_python(copy.deepcopy(data))) is model
    assert type(parse_grader(copy.deepcopy(data), allow_label_model=False)) is model


def test_label_model_only_inside_multi_for_fine_tuning():
    assert errors(LABEL_MODEL, FINE_TUNING) == [
        (("type",), "type_not_allowed", "label_model graders are only allowed inside a multi grader")
    ]
    assert type(parse_grader(copy.deepcopy(LABEL_MODEL), allow_label_model=True)) is LabelModelGrader


@pytest.mark.parametrize(
    ("data", "loc", "kind"),
    [
        ({k: v for k, v in STRING_CHECK.items() if k != "operation"}, ("operation",), "missing"),
        ({k: v for k, v in STRING_CHECK.items() if k != "name"}, ("name",), "missing"),
        ({k: v for k, v in STRING_CHECK.items() if k != "type"}, ("type",), "missing"),
        (with_changes(STRING_CHECK, operation="neq"), ("operation",), "literal_error"),
        (with_changes(STRING_CHECK, type="regex"), ("type",), "invalid_type"),
        (with_changes(STRING_CHECK, input=1), ("input",), "string_type"),
        (with_changes(STRING_CHECK, extra=True), ("extra",), "extra_forbidden"),
        (with_changes(STRING_CHECK, reference="{{ answer.label }}"), ("reference",), "invalid_template"),
        (with_changes(STRING_CHECK, input="{{ sample.output_tools[x] }}"), ("input",), "invalid_template"),
        (with_changes(TEXT_SIMILARITY, evaluation_metric="rouge_6"), ("evaluation_metric",), "literal_error"),
        ({k: v for k, v in TEXT_SIMILARITY.items() if k != "reference"}, ("reference",), "missing"),
        ({k: v for k, v in PYTHON.items() if k != "source"}, ("source",), "missing"),
        (with_changes(PYTHON, image_tag=5), ("image_tag",), "string_type"),
        ({k: v for k, v in SCORE_MODEL.items() if k != "model"}, ("model",), "missing"),
        (with_changes(SCORE_MODEL, input=[]), ("input",), "too_short"),
        (with_changes(SCORE_MODEL, range=[1, 0]), ("range",), "invalid_range"),
        (with_changes(SCORE_MODEL, range=[1, 1]), ("range",), "invalid_range"),
        (with_changes(SCORE_MODEL, range=[0, 1, 2]), ("range",), "too_long"),
        (with_changes(SCORE_MODEL, range=[0]), ("range",), "too_short"),
        (with_changes(SCORE_MODEL, range=[0, "1"]), ("range", 1), "number_type"),
        (with_changes(SCORE_MODEL, range=[False, 1]), ("range", 0), "number_type"),
        (with_changes(SCORE_MODEL, sampling_params={"seed": 1.5}), ("sampling_params", "seed"), "int_type"),
        (
            with_changes(SCORE_MODEL, sampling_params={"max_completions_tokens": 0}),
            ("sampling_params", "max_completions_tokens"),
            "greater_than_equal",
        ),
        (
            with_changes(SCORE_MODEL, sampling_params={"reasoning_effort": "extreme"}),
            ("sampling_params", "reasoning_effort"),
            "literal_error",
        ),
        (
            with_changes(SCORE_MODEL, sampling_params={"top_k": 3}),
            ("sampling_params", "top_k"),
            "extra_forbidden",
        ),
        (
            with_changes(SCORE_MODEL, input=[{"role": "tool", "content": "x"}]),
            ("input", 0, "role"),
            "literal_error",
        ),
        (
            with_changes(SCORE_MODEL, input=[{"role": "user", "content": "x", "type": "msg"}]),
            ("input", 0, "type"),
            "literal_error",
        ),
        (with_changes(SCORE_MODEL, input=[{"role": "user"}]), ("input", 0, "content"), "missing"),
        (
            with_changes(SCORE_MODEL, input=[{"role": "user", "content": 3}]),
            ("input", 0, "content"),
            "content_type",
        ),
        (
            with_changes(SCORE_MODEL, input=[{"role": "user", "content": "{{ row.x }}"}]),
            ("input", 0, "content"),
            "invalid_template",
        ),
        (
            with_changes(
                SCORE_MODEL, input=[{"role": "user", "content": ["ok", {"type": "input_txt", "text": "x"}]}]
            ),
            ("input", 0, "content", 1, "type"),
            "invalid_type",
        ),
        (
            with_changes(
                SCORE_MODEL, input=[{"role": "user", "content": [{"type": "input_text", "text": "{{x.y}}"}]}]
            ),
            ("input", 0, "content", 0, "text"),
            "invalid_template",
        ),
        (
            with_changes(
                SCORE_MODEL,
                input=[
                    {
                        "role": "user",
                        "content": {"type": "input_audio", "input_audio": {"data": "", "format": "ogg"}},
                    }
                ],
            ),
            ("input", 0, "content", "input_audio", "format"),
            "literal_error",
        ),
        (
            with_changes(SCORE_MODEL, input=[{"role": "user", "content": {"type": "input_image"}}]),
            ("input", 0, "content", "image_url"),
            "missing",
        ),
        (with_changes(LABEL_MODEL, labels=[]), ("labels",), "too_short"),
        (with_changes(LABEL_MODEL, passing_labels=[]), ("passing_labels",), "too_short"),
        ({k: v for k, v in LABEL_MODEL.items() if k != "passing_labels"}, ("passing_labels",), "missing"),
        (with_changes(MULTI, graders={}), ("graders",), "too_short"),
        (with_changes(MULTI, calculate_output="(name + email / 2"), ("calculate_output",), "invalid_formula"),
        (with_changes(MULTI, calculate_output="eval(name)"), ("calculate_output",), "invalid_formula"),
        ({k: v for k, v in MULTI.items() if k != "calculate_output"}, ("calculate_output",), "missing"),
    ],
)
def test_invalid_field_is_reported_at_its_loc(data, loc, kind):
    assert [(error_loc, error_kind) for error_loc, error_kind, _ in errors(data)] == [(loc, kind)]


def test_template_error_message_names_the_namespace():
    [(loc, _, message)] = errors(with_changes(STRING_CHECK, input="{{ foo.bar }}"))
    assert loc == ("input",)
    assert "unknown namespace 'foo'" in message
    assert "input" not in message.split("'")[0]


def test_label_subset():
    [(loc, kind, message)] = errors(with_changes(LABEL_MODEL, passing_labels=["positive", "great"]))
    assert (loc, kind) == (("passing_labels",), "invalid_passing_labels")
    assert "'great'" in message and "'positive'" not in message


def test_unknown_formula_variable():
    [(loc, kind, message)] = errors(with_changes(MULTI, calculate_output="(name + foo) / 2"))
    assert (loc, kind) == (("calculate_output",), "unknown_variable")
    assert message == "unknown variable 'foo' (known: name, email)"


def test_sub_grader_error_loc_names_the_key():
    data = copy.deepcopy(MULTI)
    data["graders"]["email"]["operation"] = "equals"
    assert [(e[0], e[1]) for e in errors(data)] == [(("graders", "email", "operation"), "literal_error")]


def test_nested_multi_is_rejected():
    data = with_changes(MULTI, graders={"inner": copy.deepcopy(MULTI)}, calculate_output="inner")
    [(loc, kind, message)] = errors(data)
    assert (loc, kind) == (("graders", "inner", "type"), "type_not_allowed")
    assert "nested" in message


def test_single_grader_is_normalised_to_a_map():
    named = with_changes(MULTI, graders=with_changes(STRING_CHECK, name="exact"), calculate_output="exact")
    grader = GRADER.validate_python(named)
    assert list(grader.graders) == ["exact"]
    assert grader.model_dump(exclude_none=True)["graders"] == {"exact": named["graders"]}
    unnamed = with_changes(MULTI, graders=with_changes(STRING_CHECK, name=""), calculate_output="grader")
    assert list(GRADER.validate_python(unnamed).graders) == ["grader"]
    missing = with_changes(MULTI, graders=copy.deepcopy(STRING_CHECK), calculate_output="1")
    missing["graders"].pop("name")
    assert [(e[0], e[1]) for e in errors(missing)] == [(("graders", "grader", "name"), "missing")]


def test_map_with_a_key_called_type_is_still_a_map():
    data = with_changes(MULTI, graders={"type": copy.deepcopy(STRING_CHECK)}, calculate_output="type")
    assert GRADER.validate_python(data).model_dump(exclude_none=True) == data


def test_spec_multi_example_is_rejected():
    """The spec's example has a graders array and an unbalanced formula: both are reported."""
    data = {
        "type": "multi",
        "name": "example multi grader",
        "graders": [copy.deepcopy(TEXT_SIMILARITY), copy.deepcopy(STRING_CHECK)],
        "calculate_output": "0.5 * text_similarity_score +  0.5 * string_check_score)",
    }
    locs = [loc for loc, _, _ in errors(data)]
    assert locs == [("graders",), ("calculate_output",)]


@pytest.mark.parametrize(
    "source",
    [
        "def grade(sample, item, /):\n    return 1",
        "def grade(sample, item=None, *, scale=1.0, **extra):\n    return scale",
        "import json\n\ndef helper(x):\n    return x\n\ndef grade(s, i):\n    return helper(1.0)\n",
    ],
)
def test_python_sources_accepted(source):
    assert GRADER.validate_python(with_changes(PYTHON, source=source)).source == source


@pytest.mark.parametrize(
    ("source", "kind"),
    [
        ("", "missing_grade_function"),
        ("x = 1", "missing_grade_function"),
        ("def grade(sample):\n    return 1", "missing_grade_function"),
        ("def grade(sample, item, extra):\n    return 1", "missing_grade_function"),
        ("def grade(*args):\n    return 1", "missing_grade_function"),
        ("def grade(sample, item, *rest):\n    return 1", "missing_grade_function"),
        ("def grade(sample, item, *, key):\n    return 1", "missing_grade_function"),
        ("async def grade(sample, item):\n    return 1", "missing_grade_function"),
        ("grade = lambda sample, item: 1.0", "missing_grade_function"),
        ("class G:\n    def grade(sample, item):\n        return 1", "missing_grade_function"),
        ("if True:\n    def grade(sample, item):\n        return 1", "missing_grade_function"),
        ("def grade(sample, item):\nreturn 1", "invalid_python"),
        ("def grade(sample, item:\n    return 1", "invalid_python"),
        ("def grade(sample, item):\n    return 1\x00", "invalid_python"),
        ("def grade(sample, item):\n    return '\ud800'", "invalid_python"),
    ],
)
def test_python_sources_rejected(source, kind):
    assert [(e[0], e[1]) for e in errors(with_changes(PYTHON, source=source))] == [(("source",), kind)]


def test_python_source_size_limit():
    body = "def grade(sample, item):\n    return 1.0\n"
    just_under = body + "#" * (256 * 1024 - len(body) - 2) + "\n"
    assert GRADER.validate_python(with_changes(PYTHON, source=just_under))
    [(loc, kind, message)] = errors(with_changes(PYTHON, source=just_under + "#"))
    assert (loc, kind, message) == (("source",), "source_too_large", "must be smaller than 256 kB")


def test_missing_grade_message():
    [(_, _, message)] = errors(with_changes(PYTHON, source="def grade(sample):\n    return 1"))
    assert message == "must define a function grade(sample, item) taking exactly two arguments"


def test_score_model_defaults_are_not_echoed():
    data = {k: v for k, v in SCORE_MODEL.items() if k not in ("range", "sampling_params")}
    grader = GRADER.validate_python(copy.deepcopy(data))
    assert grader.bounds == (0.0, 1.0)
    assert grader.model_dump(exclude_none=True) == data


def test_non_object_grader_is_rejected():
    assert errors("string_check")[0][0] == ()


@pytest.mark.parametrize("key", sorted(EXAMPLES))
def test_pass_threshold_is_accepted_on_every_grader_and_echoed(key):
    """OpenAI's RFT notebook and graders guide put pass_threshold on their graders."""
    data = with_changes(EXAMPLES[key][0], pass_threshold=0.5)
    assert GRADER.validate_python(copy.deepcopy(data)).model_dump(exclude_none=True) == data
    with pytest.raises(ValidationError):
        GRADER.validate_python(with_changes(data, pass_threshold="high"))


def test_multi_grader_without_a_name_gets_a_default_one():
    data = {"type": "multi", "graders": {"a": STRING_CHECK}, "calculate_output": "a"}
    assert parse_grader(copy.deepcopy(data), allow_label_model=False).name == "multi"
