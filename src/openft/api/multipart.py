"""Stream a multipart/form-data body straight to disk, enforcing a size limit as bytes arrive.

Starlette's form parser spools files to temporary files before a handler sees them; here each file
part goes directly to its final folder and an oversized upload is refused without being kept.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from fastapi import Request
from python_multipart.multipart import MultipartParser, parse_options_header

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

from openft.errors import InvalidRequest, PayloadTooLarge

MAX_FIELD_BYTES = 64 * 1024


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


@dataclass
class _FilePart:
    """A file part being received: the file, its open handle and its running MD5."""

    received: ReceivedFile
    handle: BinaryIO
    md5: hashlib._Hash


class _Collector:
    def __init__(self, new_path: Callable[[], Path], max_file_bytes: int):
        self.form = Form()
        self.new_path = new_path
        self.max_file_bytes = max_file_bytes
        self._headers: dict[bytes, bytes] = {}
        self._name = b""
        self._value = b""
        self._field = bytearray()
        self._file: _FilePart | None = None

    def callbacks(self) -> MultipartCallbacks:
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": self._header_field,
            "on_header_value": self._header_value,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._data,
            "on_part_end": self._part_end,
        }

    def _part_begin(self) -> None:
        self._headers, self._field, self._file = {}, bytearray(), None

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._name += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _header_end(self) -> None:
        self._headers[self._name.lower()] = self._value
        self._name, self._value = b"", b""

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        self._part_name = options.get(b"name", b"").decode("utf-8", "replace")
        if b"filename" in options:
            filename = options[b"filename"].decode("utf-8", "replace").replace("\\", "/").rsplit("/", 1)[-1]
            received = ReceivedFile(self.new_path(), filename or "upload")
            handle = open(received.path, "wb")  # noqa: SIM115 (closed when the part ends)
            self._file = _FilePart(received, handle, hashlib.md5())

    def _data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if self._file is None:
            self._field += chunk
            if len(self._field) > MAX_FIELD_BYTES:
                raise InvalidRequest(f"Form field '{self._part_name}' is too large.", param=self._part_name)
            return
        self._file.received.size += len(chunk)
        if self._file.received.size > self.max_file_bytes:
            raise PayloadTooLarge(
                f"File is too large: the limit is {self.max_file_bytes} bytes.",
                param=self._part_name,
                code="file_too_large",
            )
        self._file.handle.write(chunk)
        self._file.md5.update(chunk)

    def _part_end(self) -> None:
        if self._file is None:
            self.form.fields[self._part_name] = self._field.decode("utf-8", "replace")
            return
        self._file.handle.close()
        self._file.received.md5 = self._file.md5.hexdigest()
        self.form.files[self._part_name] = self._file.received

    def cleanup(self) -> None:
        if self._file is not None:
            self._file.handle.close()
            self._file.received.path.unlink(missing_ok=True)
        for received in self.form.files.values():
            received.path.unlink(missing_ok=True)


async def receive_form(request: Request, *, new_path: Callable[[], Path], max_file_bytes: int) -> Form:
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    if content_type != b"multipart/form-data" or b"boundary" not in options:
        raise InvalidRequest("Expected a multipart/form-data body.", code="invalid_content_type")
    declared = int(request.headers.get("content-length") or 0)
    if declared > max_file_bytes + 1024 * 1024:
        raise PayloadTooLarge(
            f"File is too large: the limit is {max_file_bytes} bytes.", param="file", code="file_too_large"
        )
    collector = _Collector(new_path, max_file_bytes)
    parser = MultipartParser(options[b"boundary"], collector.callbacks())
    try:
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
    except BaseException:
        collector.cleanup()
        raise
    return collector.form
