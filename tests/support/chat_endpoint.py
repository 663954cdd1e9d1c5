"""A scripted OpenAI-compatible /v1/chat/completions endpoint on loopback, standing in for an
external grader model (OpenAI, vLLM): it records each request and answers with the next
scripted reply (content, refusal, usage, or an HTTP error)."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Reply:
    content: str | None = None
    refusal: str | None = None
    status: int = 200
    prompt_tokens: int = 11
    completion_tokens: int = 7
    cached_tokens: int = 3
    model: str = "gpt-4o-2024-08-06"
    finish_reason: str = "stop"

    def body(self) -> dict:
        if self.status != 200:
            return {
                "error": {"message": "upstream exploded", "type": "server_error", "param": None, "code": None}
            }
        message = {"role": "assistant", "content": self.content, "refusal": self.refusal}
        usage = {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
            "prompt_tokens_details": {"cached_tokens": self.cached_tokens},
        }
        return {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 1,
            "model": self.model,
            "choices": [
                {"index": 0, "message": message, "finish_reason": self.finish_reason, "logprobs": None}
            ],
            "usage": usage,
        }


@dataclass
class ChatEndpoint:
    replies: list[Reply] = field(default_factory=list)
    requests: list[dict] = field(default_factory=list)
    headers: list[dict] = field(default_factory=list)

    def __post_init__(self) -> None:
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                endpoint.requests.append(body)
                endpoint.headers.append({k.lower(): v for k, v in self.headers.items()})
                reply = (
                    endpoint.replies.pop(0)
                    if endpoint.replies
                    else Reply(content='{"steps": [], "result": 1}')
                )
                data = json.dumps(reply.body()).encode()
                self.send_response(reply.status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
