"""Rendering why a job cannot use a file as the job's {code, message, param} error."""

from __future__ import annotations

import re

from openft.datasets.formats import EXPECTED_BY_METHOD, FORMAT_METHOD, WIRE_NAMES
from openft.datasets.report import JobFileError, RowError

MAX_LISTED_ERRORS = 10
MIN_EXAMPLES = {"training": 10, "validation": 1}
MAX_EXAMPLES = {("reinforcement", "training"): 50_000, ("reinforcement", "validation"): 1_000}

MESSAGE_FIELD = re.compile(r"^(?:(?P<owner>\w+)\.)?messages\[(?P<index>\d+)\](?:\.(?P<rest>.+))?$")


def file_error(role: str, detail: str) -> JobFileError:
    """An invalid_training_file / invalid_validation_file error with OpenAI's lead-in."""
    message = f"The job failed due to an invalid {role} file. {detail}"
    return JobFileError(code=f"invalid_{role}_file", message=message, param=f"{role}_file")


def unexpected_format(*, method: str, role: str) -> JobFileError:
    """No row of the file is in a format this method could take."""
    return file_error(role, f"Unexpected file format, expected {EXPECTED_BY_METHOD[method]}.")


def method_mismatch(*, file_format: str, method: str, file_id: str, role: str) -> JobFileError:
    """The file is in a format meant for another training method (trailing space is OpenAI's)."""
    detail = (
        f"Invalid file format. Input file {file_id} is in the {WIRE_NAMES[file_format]} format, "
        f"but the specified fine-tuning job is not using '{FORMAT_METHOD[file_format]}' "
        f"as the training method (provided method={method}). "
    )
    return file_error(role, detail)


def row_errors(errors: list[RowError], *, role: str) -> JobFileError:
    """The first ten row errors, then how many more there are."""
    listed = "; ".join(describe(error) for error in errors[:MAX_LISTED_ERRORS])
    more = len(errors) - MAX_LISTED_ERRORS
    if more > 0:
        listed += f" (and {more} more error{'s' if more > 1 else ''})"
    return file_error(role, f"Invalid file format. {listed}")


def n_examples(count: int, *, method: str, role: str) -> JobFileError | None:
    """Too few examples for any job, or too many for a reinforcement job; None when fine."""
    least, most = MIN_EXAMPLES[role], MAX_EXAMPLES.get((method, role))
    if count < least:
        bound = f"at least {least} example{'s' if least > 1 else ''}"
    elif most is not None and count > most:
        bound = f"at most {most} examples"
    else:
        return None
    message = f"{role.capitalize()} file has {count} example(s), but must have {bound}"
    return JobFileError(code="invalid_n_examples", message=message, param=f"{role}_file")


def describe(error: RowError) -> str:
    """One row error as OpenAI words it: "Example 3, message 2 Unrecognized role 'foo'"."""
    lead = f"Example {error.line},"
    if error.field is None:
        return f"{lead} {error.message}"
    match = MESSAGE_FIELD.match(error.field)
    if match is None:
        return f"{lead} {locate(error.field, error.message)}"
    owner = f"{match['owner']} " if match["owner"] else ""
    lead = f"{lead} {owner}message {int(match['index']) + 1}"
    return f"{lead} {locate(match['rest'] or '', error.message)}"


def locate(path: str, message: str) -> str:
    """`path: message`, dropping the last key of the path when the message already names it."""
    parent, _, leaf = path.rpartition(".")
    if re.fullmatch(r"\w+", leaf) and re.search(rf"\b{leaf}\b", message):
        path = parent
    return f"{path}: {message}" if path else message
