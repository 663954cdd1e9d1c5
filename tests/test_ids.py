"""Object ids: OpenAI's prefixes and lengths, every character drawn from the whole alphabet at every
position, each as often (a token must not leave its high digits constant, nor favour the characters a
byte modulo 62 would)."""

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


def test_characters_are_drawn_uniformly():
    drawn = "".join(ids.random_token(25) for _ in range(8000))  # 200,000 characters, ~3,226 of each
    counts = [drawn.count(character) for character in string.ascii_letters + string.digits]
    # within 10% of the mean: 5.7 standard deviations; a byte taken modulo 62 without dropping the
    # bytes of 248 and above would draw the first 8 characters 25% more often than the rest
    assert max(counts) < 1.1 * len(drawn) / 62 and min(counts) > 0.9 * len(drawn) / 62
