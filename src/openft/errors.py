"""OpenAI-shaped API errors: ``{"error": {"message", "type", "param", "code"}}``.

Every failure the API returns is an :class:`APIError`; the handlers in ``openft.api.errors``
render them. A wrong state is a 400 (never 409: the SDK retries 409).
"""

from __future__ import annotations


class APIError(Exception):
    status = 400
    type = "invalid_request_error"

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code

    def body(self) -> dict:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}


class InvalidRequest(APIError):
    status = 400


class AuthenticationFailed(APIError):
    status = 401


class NotFound(APIError):
    status = 404


class PayloadTooLarge(APIError):
    status = 413


class ServerError(APIError):
    status = 500
    type = "server_error"


def job_not_found(job_id: str) -> NotFound:
    return NotFound(f"Could not find fine tune: {job_id}", param="fine_tune_id", code="fine_tune_not_found")


def file_not_found(file_id: str, *, param: str = "id") -> NotFound:
    return NotFound(f"No such File object: {file_id}", param=param, code="file_not_found")


def model_not_found(model: str) -> NotFound:
    return NotFound(f"The model '{model}' does not exist", param="model", code="model_not_found")


def completion_not_found(completion_id: str) -> NotFound:
    return NotFound(
        f"Completion with id '{completion_id}' not found.", param="completion_id", code="completion_not_found"
    )


def response_not_found(response_id: str, *, param: str = "response_id") -> NotFound:
    code = "previous_response_not_found" if param == "previous_response_id" else "response_not_found"
    return NotFound(f"Response with id '{response_id}' not found.", param=param, code=code)


class PermissionDenied(APIError):
    status = 403
