"""Grader template strings: finding, checking and rendering {{ item.* }} / {{ sample.* }}."""

import pytest

from openft.schemas.template import (
    InvalidVariableError,
    TemplateError,
    check_template,
    find_placeholders,
    render,
)


def test_finds_placeholders_with_and_without_whitespace():
    text = "Reference: {{ item.reference_answer }}. Model answer: {{sample.output_text}}"
    first, second = find_placeholders(text)
    assert (first.namespace, first.path) == ("item", ("reference_answer",))
    assert text[first.start : first.end] == "{{ item.reference_answer }}"
    assert (second.namespace, second.path) == ("sample", ("output_text",))
    assert text[second.start : second.end] == "{{sample.output_text}}"


@pytest.mark.parametrize(
    ("text", "variable", "path"),
    [
        ("{{sample.output_json.name}}", "sample.output_json.name", ("output_json", "name")),
        (
            "{{sample.output_tools[0].function.name}}",
            "sample.output_tools[0].function.name",
            ("output_tools", 0, "function", "name"),
        ),
        (
            "{{ item.reference_answer.donor_bond_counts }}",
            "item.reference_answer.donor_bond_counts",
            ("reference_answer", "donor_bond_counts"),
        ),
        ("{{\titem.a[12][3]\n}}", "item.a[12][3]", ("a", 12, 3)),
        (
            "{{ sample.choices[0].message.content }}",
            "sample.choices[0].message.content",
            ("choices", 0, "message", "content"),
        ),
    ],
)
def test_paths(text, variable, path):
    (placeholder,) = check_template(text)
    assert placeholder.variable == variable
    assert placeholder.path == path


def test_text_without_placeholders():
    assert find_placeholders("no templates { here } {item.x}") == []
    assert check_template("") == []


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("{{ foo.bar }}", "unknown namespace 'foo'"),
        ("{{ items.label }}", "unknown namespace 'items'"),
        ("{{ output_text }}", "unknown namespace 'output_text'"),
        ("{{ 1 + 2 }}", "unknown namespace"),
        ("{{ item }}", "must name a variable"),
        ("{{ sample }}", "must name a variable"),
        ("{{ item. }}", "malformed variable path"),
        ("{{ item..a }}", "malformed variable path"),
        ("{{ item.a[x] }}", "malformed variable path"),
        ("{{ item.a[-1] }}", "malformed variable path"),
        ("{{ item.a b }}", "malformed variable path"),
        ("{{ item.a | upper }}", "malformed variable path"),
        ("{{ }}", "empty placeholder"),
        ("ok {{ item.a }} then {{ item.b", "unclosed placeholder"),
    ],
)
def test_malformed_templates_are_rejected(text, fragment):
    with pytest.raises(TemplateError) as info:
        check_template(text)
    assert fragment in str(info.value)
    assert isinstance(info.value, ValueError)


SAMPLE = {
    "output_text": "Paris",
    "output_json": {"name": "Ada", "age": 36, "ok": True, "nothing": None},
    "output_tools": [{"function": {"name": "lookup", "arguments": '{"smiles": "CCO"}'}}],
}
ITEM = {"label": "Paris", "smiles": "CCO", "score": 1.0, "tags": ["a", "é"]}


def test_render_substitutes_strings_verbatim():
    text = "{{sample.output_text}} == {{ item.label }}; tool {{sample.output_tools[0].function.name}}"
    assert render(text, sample=SAMPLE, item=ITEM) == "Paris == Paris; tool lookup"


def test_render_substitutes_other_values_as_json():
    text = "{{sample.output_json.age}} {{sample.output_json.ok}} {{sample.output_json.nothing}} "
    text += "{{item.score}} {{item.tags}} {{sample.output_json}}"
    assert render(text, sample=SAMPLE, item=ITEM) == (
        '36 true null 1.0 ["a", "é"] {"name": "Ada", "age": 36, "ok": true, "nothing": null}'
    )


def test_render_docs_arguments_example():
    rendered = render('{"smiles": "{{item.smiles}}"}', sample=SAMPLE, item=ITEM)
    assert rendered == render("{{sample.output_tools[0].function.arguments}}", sample=SAMPLE, item=ITEM)


@pytest.mark.parametrize(
    "text",
    [
        "{{ item.missing }}",
        "{{ sample.output_json.email }}",
        "{{ sample.output_tools[1].function }}",
        "{{ item.label.inner }}",
        "{{ item.label[0] }}",
        "{{ item.tags.first }}",
    ],
)
def test_render_missing_variable(text):
    with pytest.raises(InvalidVariableError, match="does not exist"):
        render(text, sample=SAMPLE, item=ITEM)


def test_render_rejects_malformed_template():
    with pytest.raises(TemplateError):
        render("{{ foo.bar }}", sample=SAMPLE, item=ITEM)
