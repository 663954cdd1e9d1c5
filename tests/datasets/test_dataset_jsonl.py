"""Reading the file: streaming, line numbers, blank lines, and lines that are not JSON objects."""

from __future__ import annotations

import json

from openft.datasets import RowError, validate_dataset

CHAT = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}


def test_blank_lines_are_skipped_but_keep_line_numbers(jsonl):
    path = jsonl(["", json.dumps(CHAT), "   \t", "[]"] + [json.dumps(CHAT)] * 9)
    report = validate_dataset(path, method="supervised", file_id="file-x")
    assert report.n_examples == 11
    assert report.errors == [RowError(4, None, "Expected a JSON object")]


def test_non_object_lines(jsonl):
    rows = ["[1, 2]", '"text"', "42", "null", "{'single': 'quotes'}", '{"messages": ']
    report = validate_dataset(jsonl(rows), method="supervised", file_id="file-x")
    assert report.errors == [
        RowError(1, None, "Expected a JSON object"),
        RowError(2, None, "Expected a JSON object"),
        RowError(3, None, "Expected a JSON object"),
        RowError(4, None, "Expected a JSON object"),
        RowError(5, None, "Invalid JSON"),
        RowError(6, None, "Invalid JSON"),
    ]
    assert report.format is None
    assert report.error.message.startswith(
        "The job failed due to an invalid training file. Invalid file format. Example 1, Expected"
    )


def test_bom_crlf_and_bad_utf8(tmp_path):
    path = tmp_path / "data.jsonl"
    line = json.dumps(CHAT).encode()
    path.write_bytes(b"\xef\xbb\xbf" + line + b"\r\n" + b'{"prompt": "\xff"}\r\n' + (line + b"\r\n") * 9)
    report = validate_dataset(path, method="supervised", file_id="file-x")
    assert (report.format, report.n_examples) == ("chat", 11)
    assert report.errors == [RowError(2, None, "Invalid UTF-8")]


def test_last_line_without_newline(tmp_path):
    path = tmp_path / "data.jsonl"
    path.write_text("\n".join([json.dumps(CHAT)] * 10))
    assert validate_dataset(path, method="supervised", file_id="file-x").error is None


def test_large_file_is_streamed(tmp_path):
    path = tmp_path / "big.jsonl"
    bad = {"messages": [{"role": "user", "content": "hi"}]}
    with path.open("w") as handle:
        for index in range(20_000):
            handle.write(json.dumps(bad if index % 1000 == 999 else CHAT) + "\n")
    report = validate_dataset(path, method="supervised", file_id="file-big")
    assert report.n_examples == 20_000
    assert [error.line for error in report.errors] == list(range(1000, 20_001, 1000))
    assert report.error.message.endswith("Example has no assistant message (and 10 more errors)")
