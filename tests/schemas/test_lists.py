"""List envelopes: a page serialized straight to JSON is the envelope of its items dumped to JSON
values, key for key and in the same order (the SDK's strict models and clients that diff bodies)."""

from __future__ import annotations

import json

from openft.schemas.files import FileObject
from openft.schemas.lists import cursor_list_json, envelope


def _file(number: int, name: str) -> FileObject:
    return FileObject(
        id=f"file-{number}", bytes=number, created_at=1700000000 + number, filename=name,
        purpose="fine-tune", status="processed", status_details=None, expires_at=None,
    )  # fmt: skip


def test_a_page_as_json_is_the_envelope_of_its_dumped_items():
    items = [_file(1, "train.jsonl"), _file(2, 'd\u00e9j\u00e0 "vu"\n.jsonl')]
    for page, has_more in ((items, True), (items[:1], False), ([], False)):
        for with_ids in (True, False):
            body = json.loads(cursor_list_json(page, has_more, with_ids=with_ids))
            dumped = envelope([item.model_dump(mode="json") for item in page], has_more, with_ids=with_ids)
            assert body == dumped and list(body) == list(dumped)
