"""Official `openai` SDK clients in strict mode whose every response is checked against the OpenAPI subset."""

from __future__ import annotations

import httpx2
import openai

from support import openapi


def _check_sync(response: httpx2.Response) -> None:
    response.read()
    openapi.check(
        response.request.method,
        response.request.url.path,
        response.status_code,
        response.headers.get("content-type", ""),
        response.content,
    )


async def _check_async(response: httpx2.Response) -> None:
    await response.aread()
    openapi.check(
        response.request.method,
        response.request.url.path,
        response.status_code,
        response.headers.get("content-type", ""),
        response.content,
    )


def sync_client(base_url: str, api_key: str = "sk-test", *, strict: bool = True, **kwargs) -> openai.OpenAI:
    """``strict=False``: the SDK's default mode (no type validation; the OpenAPI check still runs),
    only where the SDK's own types are wrong, e.g. a multi grader's ``graders`` typed as one grader
    where OpenAI's API and guides send a map (reference §6.7)."""
    http = httpx2.Client(event_hooks={"response": [_check_sync]}, timeout=60)
    return openai.OpenAI(
        base_url=base_url,
        api_key=api_key,
        http_client=http,
        max_retries=0,
        _strict_response_validation=strict,
        **kwargs,
    )


def async_client(base_url: str, api_key: str = "sk-test", **kwargs) -> openai.AsyncOpenAI:
    http = httpx2.AsyncClient(event_hooks={"response": [_check_async]}, timeout=60)
    return openai.AsyncOpenAI(
        base_url=base_url,
        api_key=api_key,
        http_client=http,
        max_retries=0,
        _strict_response_validation=True,
        **kwargs,
    )
