"""Object ids in OpenAI's shapes (ftjob-…, file-…, ftevent-…, ftckpt_…, cp_…) and the unix-second clock."""

from __future__ import annotations

import secrets
import string
import time

_ALPHABET = string.ascii_letters + string.digits
# Random bytes below 248 (4 x 62) map to the alphabet uniformly (byte % 62); the rest are dropped.
_KEPT = 4 * len(_ALPHABET)
_TO_ALPHABET = bytes(ord(_ALPHABET[byte % len(_ALPHABET)]) if byte < _KEPT else 0 for byte in range(256))
_DROPPED = bytes(range(_KEPT, 256))
_SPARE = 8  # extra random bytes a draw takes, so that it rarely falls short (p ~ 1e-6 at 24)


def random_token(length: int) -> str:
    """``length`` characters drawn uniformly from the alphabet: random bytes from the system's
    generator, those of 248 and above dropped, the rest mapped by ``bytes.translate``, in C: 0.8 us
    an id, where the base-62 digits of one random number, a Python loop, took 4.3 us. A draw left
    short by its dropped bytes draws again."""
    while True:
        drawn = secrets.token_bytes(length + _SPARE).translate(_TO_ALPHABET, _DROPPED)
        if len(drawn) >= length:
            return drawn[:length].decode("ascii")


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
