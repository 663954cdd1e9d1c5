"""Object ids in OpenAI's shapes (ftjob-…, file-…, ftevent-…, ftckpt_…, cp_…) and the unix-second clock."""

from __future__ import annotations

import secrets
import string
import time

_ALPHABET = string.ascii_letters + string.digits


def random_token(length: int) -> str:
    """``length`` characters drawn uniformly from the alphabet: the base-62 digits of one random
    number below 62 ** length. One draw from the system's generator, where a ``secrets.choice`` per
    character made a getrandom system call each (72 for the three ids of a job create)."""
    number, characters = secrets.randbelow(len(_ALPHABET) ** length), []
    for _ in range(length):
        number, digit = divmod(number, len(_ALPHABET))
        characters.append(_ALPHABET[digit])
    return "".join(characters)


def job_id() -> str:
    return "ftjob-" + random_token(24)


def file_id() -> str:
    return "file-" + random_token(22)


def event_id() -> str:
    return "ftevent-" + random_token(24)


def checkpoint_id() -> str:
    return "ftckpt_" + random_token(24)


def permission_id() -> str:
    """A checkpoint permission."""
    return "cp_" + random_token(24)


def upload_id() -> str:
    return "upload_" + random_token(24)


def part_id() -> str:
    return "part_" + random_token(24)


def model_token() -> str:
    """The 8-character id at the end of an ``ft:`` model name."""
    return random_token(8)


def new_seed() -> int:
    return secrets.randbelow(2_147_483_648)


def now() -> int:
    return int(time.time())
