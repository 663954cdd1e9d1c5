"""Stream a multipart/form-data body straight to disk, enforcing size limits as bytes arrive.

Starlette's form parser spools files to temporary files before a handler sees them; here each file
part the route keeps goes directly to its final folder, and nothing else is written: a file part
under another name, or a second part of a kept name, is read and dropped. An oversized, malformed
or truncated body is refused without leaving a byte behind.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from fastapi import Request
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from openft.api.guards import refuse_nul
from openft.errors import InvalidRequest, PayloadTooLarge
from openft.schemas.files import MAX_FILENAME_LENGTH

MAX_FIELDS_BYTES = 64 * 1024  # all form fields together, names included
FORM_OVERHEAD_BYTES = 1024 * 1024  # the most a body may carry beyond its file: boundaries, headers, fields


@dataclass
class ReceivedFile:
    path: Path
    filename: str
    size: int = 0
    md5: str = ""


@dataclass
class Form:
    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, ReceivedFile] = field(default_factory=dict)


def _filename(raw: bytes) -> str:
    name = raw.decode("utf-8", "replace").replace("\\", "/").rsplit("/", 1)[-1]
    refuse_nul("file", name)
    if len(name) > MAX_FILENAME_LENGTH:
        raise InvalidRequest(
            f"Invalid 'file': the filename is longer than {MAX_FILENAME_LENGTH} characters.",
            param="file",
            code="invalid_value",
        )
    return name or "upload"


class _Collector:
    def __init__(self, new_path, max_file_bytes: int, keep: frozenset[str]):
        self.form = Form()
        self.new_path = new_path
        self.max_file_bytes = max_file_bytes
        self.keep = keep
        self.complete = False  # the closing boundary was seen
        self.fields_bytes = 0
        self._headers: dict[bytes, bytes] = {}
        self._name = b""
        self._value = b""
        self._field: bytearray | None = None  # the value of a field part being read
        self._file: ReceivedFile | None = None  # the file part being written
        self._handle: BinaryIO | None = None
        self._md5: hashlib._Hash | None = None
        self._part_name = ""

    def callbacks(self) -> Any:  # python-multipart's MultipartCallbacks
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": self._header_field,
            "on_header_value": self._header_value,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._data,
            "on_part_end": self._part_end,
            "on_end": self._end,
        }

    def _part_begin(self):
        self._headers, self._field, self._file = {}, None, None

    def _header_field(self, data, start, end):
        self._name += data[start:end]

    def _header_value(self, data, start, end):
        self._value += data[start:end]

    def _header_end(self):
        self._headers[self._name.lower()] = self._value
        self._name, self._value = b"", b""

    def _headers_finished(self):
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        self._part_name = options.get(b"name", b"").decode("utf-8", "replace")
        refuse_nul(self._part_name or "file", self._part_name)
        if b"filename" not in options:
            self._field = bytearray()
            self._count_field(len(self._part_name))
        elif self._part_name in self.keep and self._part_name not in self.form.files:
            self._file = ReceivedFile(self.new_path(), _filename(options[b"filename"]))
            self._handle = open(self._file.path, "wb")  # noqa: SIM115 - closed at the part's end
            self._md5 = hashlib.md5()
        # else: a file part the route does not keep; its bytes are read and dropped

    def _count_field(self, size: int):
        self.fields_bytes += size
        if self.fields_bytes > MAX_FIELDS_BYTES:
            raise InvalidRequest(
                f"The form fields are too large: the limit is {MAX_FIELDS_BYTES} bytes in all.",
                param=self._part_name or None,
                code="fields_too_large",
            )

    def _data(self, data, start, end):
        chunk = data[start:end]
        if self._field is not None:
            self._field += chunk
            self._count_field(len(chunk))
        elif self._file is not None:
            self._write(self._file, chunk)

    def _write(self, file: ReceivedFile, chunk: bytes):
        assert self._handle is not None and self._md5 is not None
        file.size += len(chunk)
        if file.size > self.max_file_bytes:
            raise PayloadTooLarge(
                f"File is too large: the limit is {self.max_file_bytes} bytes.",
                param=self._part_name,
                code="file_too_large",
            )
        self._handle.write(chunk)
        self._md5.update(chunk)

    def _part_end(self):
        if self._field is not None:
            value = self._field.decode("utf-8", "replace")
            refuse_nul(self._part_name, value)
            self.form.fields.setdefault(self._part_name, value)  # the first of a repeated field counts
        elif self._file is not None and self._handle is not None and self._md5 is not None:
            self._handle.close()
            self._handle = None
            self._file.md5 = self._md5.hexdigest()
            self.form.files[self._part_name] = self._file
        self._field, self._file = None, None

    def _end(self):
        self.complete = True

    def cleanup(self):
        if self._handle is not None:
            self._handle.close()
        if self._file is not None:
            self._file.path.unlink(missing_ok=True)
        for received in self.form.files.values():
            received.path.unlink(missing_ok=True)


def _form_boundary(request: Request) -> bytes:
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    if content_type != b"multipart/form-data" or not options.get(b"boundary"):
        raise InvalidRequest("Expected a multipart/form-data body.", code="invalid_content_type")
    return options[b"boundary"]


async def _feed(request: Request, parser: MultipartParser, limit: int, max_file_bytes: int) -> None:
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit:  # a chunked body has no Content-Length: count it as it arrives
            raise PayloadTooLarge(
                f"File is too large: the limit is {max_file_bytes} bytes.",
                param="file",
                code="file_too_large",
            )
        try:
            parser.write(chunk)
        except FormParserError as exc:
            raise InvalidRequest(
                f"Could not parse the multipart/form-data body: {exc}.", code="invalid_multipart_body"
            ) from None


async def receive_form(request: Request, *, new_path, max_file_bytes: int, keep: frozenset[str]) -> Form:
    """The body's fields, and the file parts named in ``keep`` (the first of each), on disk."""
    boundary = _form_boundary(request)
    limit = max_file_bytes + FORM_OVERHEAD_BYTES
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(
            f"File is too large: the limit is {max_file_bytes} bytes.", param="file", code="file_too_large"
        )
    collector = _Collector(new_path, max_file_bytes, keep)
    parser = MultipartParser(boundary, collector.callbacks())
    try:
        await _feed(request, parser, limit, max_file_bytes)
        if not collector.complete:
            raise InvalidRequest(
                "The multipart/form-data body ended before its closing boundary.",
                code="invalid_multipart_body",
            )
    except BaseException:
        collector.cleanup()
        raise
    return collector.form
