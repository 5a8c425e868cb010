"""flywheel's demo model: a loopback, OpenAI-compatible Chat Completions server.

Real HTTP (stdlib ``ThreadingHTTPServer``, HTTP/1.1 keep-alive, Nagle off) answering
``POST /v1/chat/completions`` the way the ``openai`` client expects, non-streamed and streamed
(Server-Sent Events, chunked transfer, ``stream_options.include_usage``). Every response names
itself: ``model`` is ``flywheel-demo-model`` and ``system_fingerprint`` is ``flywheel-demo``, so
results made with it can say so. Answers come from :mod:`flywheel.tasks.demo_model._rules`.

For tests it injects faults and counts calls:

* ``latency_ms`` before every answer;
* ``rate`` + ``seed`` + ``kinds``: the n-th arrival of a given request body fails with
  probability ``rate``, decided by ``Random(f"{seed}:{sha256(body)}:{n}")`` (so which attempt of
  which request fails does not depend on the order of arrival), with one of ``429`` (with
  ``Retry-After``), ``500``, ``timeout``
  (the server holds the request for ``hang_s``), ``malformed`` (a 200 with a cut JSON body),
  ``truncated`` (a stream cut before its end; a non-streamed call gets a cut body);
* ``status``: every chat call answers that HTTP status (e.g. 401) with an OpenAI error body;
* ``script``: a list of per-call actions used first, in order of arrival
  (``{"fault": "429"}``, ``{"status": 503}``, ``{"content": "..."}``; ``"when": "text"``
  restricts an entry to calls whose messages contain the text);
* ``replay``: answer from recorded real exchanges (:class:`Cassettes`) instead of the rules.

Control endpoints: ``GET /_demo/stats`` (call counters), ``POST /_demo/config`` (a JSON body
with any of the fields of :class:`FaultPlan`), ``POST /_demo/reset``. Run it on its own with
``python -m flywheel.tasks.demo_model --port 0``.
"""

from __future__ import annotations

import hashlib
import json
import random
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field, fields, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from flywheel.tasks.demo_model._rules import DEMO_FINGERPRINT, DEMO_MODEL, answer, count_tokens
from flywheel.tasks.registry import canonical_json

FAULT_KINDS = ("429", "500", "timeout", "malformed", "truncated")


@dataclass
class FaultPlan:
    """What the server does besides answering; see the module docstring."""

    latency_ms: float = 0.0
    rate: float = 0.0
    seed: int = 0
    kinds: tuple[str, ...] = ("429", "500", "timeout")
    retry_after_s: float = 0.05
    hang_s: float = 2.0
    status: int | None = None
    script: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FaultPlan:
        """A plan from a JSON object; unknown keys are an error."""
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown fault plan keys: {', '.join(sorted(unknown))}")
        values = dict(data)
        if "kinds" in values:
            values["kinds"] = tuple(str(k) for k in values["kinds"])
            bad = set(values["kinds"]) - set(FAULT_KINDS)
            if bad:
                raise ValueError(f"unknown fault kinds: {', '.join(sorted(bad))}")
        return replace(cls(), **values)


def _replay_key(model: str, messages: Any, stream: bool) -> str:
    return hashlib.sha256(canonical_json([model, messages, stream]).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Recorded:
    """One recorded HTTP exchange: status, content type, body text, a few headers."""

    status: int
    content_type: str
    body: str
    headers: dict[str, str]


class Cassettes:
    """Recorded real Chat Completions exchanges (openllmetry's cassettes, converted to JSONL),
    indexed by (model, messages, stream) of the request."""

    KEPT_HEADERS = ("x-request-id", "openai-model", "openai-processing-ms", "retry-after",
                    "x-ratelimit-remaining-requests")

    def __init__(self, path: Path) -> None:
        self.by_key: dict[str, Recorded] = {}
        self.entries: list[dict[str, Any]] = []
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                row = json.loads(line)
                body = row.get("request_body")
                if not row["uri"].split("?")[0].endswith("/chat/completions") or not isinstance(
                    body, dict
                ) or "messages" not in body:
                    continue
                stream = bool(body.get("stream"))
                key = _replay_key(str(body.get("model", "")), body["messages"], stream)
                if key in self.by_key:
                    continue
                response = row["response_body"]
                raw_headers = row.get("response_headers") or {}
                headers = {k.lower(): str(v) for k, v in raw_headers.items()}
                text = response if isinstance(response, str) else json.dumps(response)
                content_type = "text/event-stream" if stream and isinstance(response, str) else (
                    "application/json")
                status = row["status"]["code"] if isinstance(row["status"], dict) else row["status"]
                self.by_key[key] = Recorded(
                    int(status), content_type, text,
                    {k: headers[k] for k in self.KEPT_HEADERS if k in headers},
                )
                self.entries.append(row)

    def lookup(self, model: str, messages: Any, stream: bool) -> Recorded | None:
        """The recorded answer to this request, if there is one."""
        return self.by_key.get(_replay_key(model, messages, stream))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read the counters
        return

    # --- plumbing -------------------------------------------------------------------------
    def _send(self, status: int, body: bytes, content_type: str = "application/json",
              headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(payload, ensure_ascii=False).encode("utf-8"),
                   headers=headers)

    def _error(self, status: int, message: str, kind: str, code: str | None = None,
               headers: dict[str, str] | None = None) -> None:
        self._json(status, {"error": {"message": message, "type": kind, "param": None,
                                      "code": code}}, headers)

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    # --- routes ---------------------------------------------------------------------------
    def do_GET(self) -> None:
        if self.path.rstrip("/") == "/_demo/stats":
            self._json(200, self.server.stats())
        elif self.path.rstrip("/").endswith("/models"):
            self._json(200, {"object": "list", "data": [
                {"id": DEMO_MODEL, "object": "model", "created": 0, "owned_by": "flywheel"}]})
        else:
            self._error(404, f"no route {self.path}", "invalid_request_error")

    def do_POST(self) -> None:
        raw = self._body()
        path = self.path.split("?")[0].rstrip("/")
        if path == "/_demo/config":
            try:
                self.server.configure(FaultPlan.from_dict(json.loads(raw or b"{}")))
            except (ValueError, TypeError) as exc:
                self._error(400, str(exc), "invalid_request_error")
                return
            self._json(200, asdict(self.server.plan))
        elif path == "/_demo/reset":
            self.server.reset()
            self._json(200, {"ok": True})
        elif path.endswith("/chat/completions"):
            self._chat(raw)
        else:
            self._error(404, f"no route {self.path}", "invalid_request_error")

    def _chat(self, raw: bytes) -> None:
        try:
            request = json.loads(raw)
            messages = request["messages"]
            model = str(request.get("model", ""))
        except (ValueError, KeyError, TypeError):
            self.server.count(400, None)
            self._error(400, "the body must be a JSON object with messages",
                        "invalid_request_error")
            return
        stream = bool(request.get("stream"))
        plan = self.server.plan
        action = self.server.next_action(raw, json.dumps(messages, ensure_ascii=False))
        if plan.latency_ms:
            time.sleep(plan.latency_ms / 1000)
        fault = action.get("fault")
        status = action.get("status") or plan.status
        if status:
            self.server.count(int(status), "status")
            self._status_error(int(status))
        elif fault == "429":
            self.server.count(429, fault)
            self._error(429, "Rate limit reached for flywheel-demo-model (demo fault).",
                        "requests", "rate_limit_exceeded",
                        {"Retry-After": f"{plan.retry_after_s:g}"})
        elif fault == "500":
            self.server.count(500, fault)
            self._error(500, "The server had an error processing your request (demo fault).",
                        "server_error")
        elif fault == "timeout":
            self.server.count(200, fault)
            time.sleep(plan.hang_s)
            self._reply(model, messages, stream, request)
        elif fault == "malformed" or (fault == "truncated" and not stream):
            self.server.count(200, fault)
            self._send(200, b'{"id": "chatcmpl-demo", "object": "chat.completion", "choices": [{')
        elif self.server.cassettes is not None:
            self._replay(model, messages, stream)
        else:
            self.server.count(200, fault)
            self._reply(model, messages, stream, request, content=action.get("content"),
                        truncate=fault == "truncated")

    def _status_error(self, status: int) -> None:
        auth = self.headers.get("Authorization", "")
        if status == 401:
            # Like a real provider, the message echoes the key it got: callers must redact it.
            self._error(401, f"Incorrect API key provided: {auth.removeprefix('Bearer ')}.",
                        "invalid_request_error", "invalid_api_key")
        elif status == 429:
            self._error(429, "Rate limit reached (demo).", "requests", "rate_limit_exceeded",
                        {"Retry-After": f"{self.server.plan.retry_after_s:g}"})
        else:
            self._error(status, f"demo status {status}",
                        "server_error" if status >= 500 else "invalid_request_error")

    def _replay(self, model: str, messages: Any, stream: bool) -> None:
        recorded = self.server.cassettes.lookup(model, messages, stream)  # type: ignore[union-attr]
        if recorded is None:
            self.server.count(404, "replay-miss")
            self._error(404, "no recorded exchange for this request", "invalid_request_error")
            return
        self.server.count(recorded.status, "replay")
        self._send(recorded.status, recorded.body.encode("utf-8"), recorded.content_type,
                   recorded.headers)

    def _reply(self, model: str, messages: Any, stream: bool, request: dict[str, Any],
               content: str | None = None, truncate: bool = False) -> None:
        text = content if content is not None else answer(messages)
        prompt_tokens = sum(count_tokens(json.dumps(m, ensure_ascii=False)) for m in messages)
        usage = {"prompt_tokens": prompt_tokens, "completion_tokens": count_tokens(text),
                 "total_tokens": prompt_tokens + count_tokens(text)}
        digest = hashlib.sha256(f"{model}:{text}".encode()).hexdigest()[:24]
        base = {"id": f"chatcmpl-demo-{digest}", "created": int(time.time()),
                "model": DEMO_MODEL, "system_fingerprint": DEMO_FINGERPRINT}
        if not stream:
            self._json(200, {**base, "object": "chat.completion", "choices": [{
                "index": 0, "message": {"role": "assistant", "content": text, "refusal": None},
                "logprobs": None, "finish_reason": "stop"}], "usage": usage},
                {"x-request-id": f"req_demo_{digest}"})
            return
        include_usage = bool((request.get("stream_options") or {}).get("include_usage"))
        self._stream(base, text, usage if include_usage else None, truncate)

    def _stream(self, base: dict[str, Any], text: str, usage: dict[str, int] | None,
                truncate: bool) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        chunk = {**base, "object": "chat.completion.chunk"}
        words = text.split(" ")
        pieces = [" ".join(words[i:i + 4]) + (" " if i + 4 < len(words) else "")
                  for i in range(0, len(words), 4)]
        events = [{**chunk, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""},
                                         "logprobs": None, "finish_reason": None}]}]
        events += [{**chunk, "choices": [{"index": 0, "delta": {"content": p}, "logprobs": None,
                                          "finish_reason": None}]} for p in pieces]
        events.append({**chunk, "choices": [{"index": 0, "delta": {}, "logprobs": None,
                                             "finish_reason": "stop"}]})
        if usage is not None:
            events.append({**chunk, "choices": [], "usage": usage})
        lines = [f"data: {json.dumps(e, ensure_ascii=False)}\n\n" for e in events]
        lines.append("data: [DONE]\n\n")
        if truncate:  # cut in the middle: no finish_reason, no [DONE], no closing chunk
            for line in lines[: max(1, len(lines) // 2)]:
                self._chunk(line.encode("utf-8"))
            self.close_connection = True
            return
        for line in lines:
            self._chunk(line.encode("utf-8"))
        self.wfile.write(b"0\r\n\r\n")

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except (TimeoutError, BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (a timeout fault): nothing to do


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], plan: FaultPlan,
                 cassettes: Cassettes | None) -> None:
        super().__init__(address, _Handler)
        self.plan = plan
        self.cassettes = cassettes
        self._lock = threading.Lock()
        self._calls = 0
        self._by_status: Counter[str] = Counter()
        self._faults: Counter[str] = Counter()
        self._arrivals: Counter[str] = Counter()
        self.log: list[tuple[float, str]] = []  # (monotonic arrival time, sha256 of the body)

    def configure(self, plan: FaultPlan) -> None:
        with self._lock:
            self.plan = plan

    def reset(self) -> None:
        with self._lock:
            self._calls = 0
            self._by_status.clear()
            self._faults.clear()
            self._arrivals.clear()
            self.log.clear()

    def next_action(self, body: bytes, messages_text: str) -> dict[str, Any]:
        """The scripted action for this call, else the random fault (if any): ``{}`` for none."""
        digest = hashlib.sha256(body).hexdigest()
        with self._lock:
            self._calls += 1
            self._arrivals[digest] += 1
            nth = self._arrivals[digest]
            self.log.append((time.monotonic(), digest))
            plan = self.plan
            for i, entry in enumerate(plan.script):
                when = entry.get("when")
                if when is None or when in messages_text:
                    return plan.script.pop(i)
        draw = random.Random(f"{plan.seed}:{digest}:{nth}")
        if plan.rate > 0 and draw.random() < plan.rate:
            return {"fault": draw.choice(plan.kinds or ("500",))}
        return {}

    def count(self, status: int, fault: str | None) -> None:
        with self._lock:
            self._by_status[str(status)] += 1
            if fault:
                self._faults[fault] += 1

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {"chat_calls": self._calls, "by_status": dict(self._by_status),
                    "faults": dict(self._faults), "model": DEMO_MODEL}


class DemoModelServer:
    """The demo model on a loopback port, served from a background thread.

    Use as a context manager, or ``start()`` / ``stop()``. ``base_url`` is what
    ``OPENAI_BASE_URL`` should be set to.
    """

    def __init__(self, plan: FaultPlan | None = None, *, host: str = "127.0.0.1", port: int = 0,
                 replay: Path | None = None) -> None:
        self._server = _Server((host, port), plan or FaultPlan(),
                               Cassettes(replay) if replay else None)
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/v1``."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    @property
    def cassettes(self) -> Cassettes | None:
        """The recorded exchanges, in replay mode."""
        return self._server.cassettes

    def configure(self, plan: FaultPlan) -> None:
        """Replace the fault plan (counters are kept)."""
        self._server.configure(plan)

    def reset(self) -> None:
        """Zero the call counters."""
        self._server.reset()

    def stats(self) -> dict[str, Any]:
        """``chat_calls`` (every chat request, faults included), ``by_status``, ``faults``."""
        return self._server.stats()

    def call_log(self) -> list[tuple[float, str]]:
        """(monotonic arrival time, sha256 of the body) of every chat call, in arrival order."""
        with self._server._lock:
            return list(self._server.log)

    @property
    def calls(self) -> int:
        """Chat requests received so far."""
        return int(self.stats()["chat_calls"])

    def start(self) -> DemoModelServer:
        """Serve in a daemon thread."""
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        name="flywheel-demo-model", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> DemoModelServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
