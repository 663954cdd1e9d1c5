"""Object ids: OpenAI's prefixes and lengths, every character drawn from the whole alphabet at every
position (a token built from one random number must not leave its high digits constant)."""

from __future__ import annotations

import re
import string

from openft import ids


def test_ids_have_openai_shapes():
    shapes = {
        ids.job_id: r"ftjob-[A-Za-z0-9]{24}",
        ids.file_id: r"file-[A-Za-z0-9]{22}",
        ids.event_id: r"ftevent-[A-Za-z0-9]{24}",
        ids.checkpoint_id: r"ftckpt_[A-Za-z0-9]{24}",
        ids.permission_id: r"cp_[A-Za-z0-9]{24}",
        ids.model_token: r"[A-Za-z0-9]{8}",
    }
    for make, shape in shapes.items():
        assert re.fullmatch(shape, make()), make.__name__


def test_every_position_takes_every_character():
    tokens = [ids.random_token(24) for _ in range(4000)]
    assert len(set(tokens)) == len(tokens)
    for position in (0, 12, 23):  # missing one of 62 in 4000 draws: p < 1e-26
        assert {token[position] for token in tokens} == set(string.ascii_letters + string.digits)
