"""Errors keep OpenAI's envelope everywhere: unknown routes, wrong methods, crashes (no traceback leak)."""

from __future__ import annotations

import httpx2
import openai
import pytest

from support.clients import sync_client


def test_unknown_route_is_404_envelope(client):
    with pytest.raises(openai.NotFoundError) as caught:
        client.get("/no/such/route", cast_to=httpx2.Response)
    assert caught.value.body["message"] == "Invalid URL (GET /v1/no/such/route)"


def test_wrong_method_is_405_envelope(client):
    with pytest.raises(openai.APIStatusError) as caught:
        client.delete("/fine_tuning/jobs", cast_to=httpx2.Response)
    assert caught.value.status_code == 405 and caught.value.body["type"] == "invalid_request_error"


def test_crash_is_500_without_traceback(make_server, caplog):
    server = make_server()

    def broken():
        raise RuntimeError("secret internal detail")

    server.app.add_api_route("/v1/boom", broken)
    with sync_client(server.url) as client, pytest.raises(openai.InternalServerError) as caught:
        client.get("/boom", cast_to=httpx2.Response)
    body = caught.value.body
    assert body["type"] == "server_error" and "secret internal detail" not in body["message"]
    assert "Traceback" not in caught.value.response.text
    assert any(
        "secret internal detail" in str(record.exc_info) for record in caplog.records if record.exc_info
    )
