"""Model calls for offline evals: the official ``openai`` client (``AsyncOpenAI``, Chat
Completions) with bounded concurrency, a per-call deadline and our own retry loop.

Why our own retry loop rather than the client's ``max_retries`` (which is set to 0 here):

* **Retry-After is shared.** The client honours ``Retry-After`` for the one request that got
  the 429, while the other 31 concurrent requests keep hitting a rate-limited endpoint. Here a
  429 with ``Retry-After`` closes a per-endpoint gate: no call to that endpoint starts before the
  time it names.
* **A slot is not held while waiting.** The concurrency semaphore is released during back-off,
  so a backing-off call does not block a ready one.
* **Fail fast on credentials.** A 401/403 (or a 404 for the model) stops every call of the run:
  queued calls never start and none is retried, so a bad key costs at most ``concurrency``
  requests, not ``cases × attempts``.
* **Attempts are recorded** per call (``attempts`` in ``eval_results``), and the retry policy
  (attempts, base, cap, jitter) comes from flywheel's configuration.

Retried: 408, 409, 429, 5xx, timeouts, connection errors, a malformed body and a stream cut
before its end. Not retried: other 4xx (recorded as that case's error). Back-off before attempt
k+1 is ``min(cap, base · 2^(k-1))`` with equal jitter (half fixed, half uniform), or the
``Retry-After`` the server sent (at most ``retry_after_max_s``) when it is longer.

The API key is read from the environment variable named by the endpoint (default
``OPENAI_API_KEY``) inside the process that makes the calls; it is never a parameter, and every
error text passes through :func:`scrub` before it leaves this module.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import math
import os
import random
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

from flywheel.tasks.errors import FlywheelError

if TYPE_CHECKING:
    import openai
# ``openai`` takes half a second to import: the methods that make calls import it, so a run that
# the cache answers entirely (a rerun) never pays for it.

RETRY_STATUSES = frozenset({408, 409, 429})
POOL_CONNECTIONS = 8
FATAL_STATUSES = frozenset({401, 403, 404})
# Chat Completions as ``chat.completions.create`` sends it (the key as a bearer token), through
# the client's own ``post``: the body is already plain JSON (rendered messages, the prompt's
# params), and ``create`` would walk it against its TypedDicts on every call first, which cost
# about 40% of the client's CPU per call (measured with cProfile, bench/evals.py). Request
# building, auth, errors and the ChatCompletion parsing are the same code as ``create``'s.
_BEARER_ONLY: dict[str, Any] = {"security": {"bearer_auth": True}}
_KEY_PATTERN = re.compile(r"\b(sk-[A-Za-z0-9_\-*.]{4,}|Bearer\s+\S+)")


class FatalCallError(FlywheelError):
    """The endpoint refused the run as a whole (bad key, no permission, unknown model)."""


@dataclass(frozen=True)
class Endpoint:
    """Where calls go: an OpenAI-compatible base URL and the env variable holding its key."""

    base_url: str
    api_key_env: str = "OPENAI_API_KEY"


@dataclass(frozen=True)
class CallSpec:
    """One Chat Completions call. ``key`` is its cache key (see :mod:`flywheel.tasks.evals._cache`)."""

    key: str
    endpoint: Endpoint
    model: str
    messages: tuple[dict[str, Any], ...]
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class CallResult:
    """What one call produced: an output, or an error (never both)."""

    key: str
    output: str | None = None
    finish_reason: str | None = None
    response_model: str | None = None
    system_fingerprint: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    latency_ms: float | None = None
    attempts: int = 0
    error: str | None = None
    cached: bool = False

    @property
    def ok(self) -> bool:
        """True when the call produced an output."""
        return self.error is None and self.output is not None


@dataclass(frozen=True)
class CallOptions:
    """How calls are made (all from :class:`flywheel.tasks.config.Settings`)."""

    concurrency: int = 8
    timeout_s: float = 60.0
    max_attempts: int = 5
    backoff_base_s: float = 0.5
    backoff_max_s: float = 20.0
    retry_after_max_s: float = 60.0
    stream: bool = False


class _Retryable(Exception):
    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class _Final(Exception):
    """Not retried: this call's error."""


def api_key(endpoint: Endpoint) -> str | None:
    """The key for an endpoint, from the environment of the calling process."""
    return os.environ.get(endpoint.api_key_env) or None


def scrub(text: str, secrets: Sequence[str | None] = ()) -> str:
    """``text`` with every given secret and anything shaped like an API key masked."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "[redacted]")
    return _KEY_PATTERN.sub("[redacted]", text)


def _retry_after(headers: httpx.Headers | None) -> float | None:
    if headers is None:
        return None
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return float(millis) / 1000
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if value else None
        return max(0.0, parsed.timestamp() - time.time()) if parsed else None


def _error_text(exc: openai.APIStatusError) -> str:
    body = exc.body
    detail = body.get("message") if isinstance(body, dict) else None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        detail = body["error"].get("message") or detail
    return f"HTTP {exc.status_code}: {detail or exc.message}"


class _Caller:
    """Runs a batch of calls on one event loop; see the module docstring for the policy."""

    def __init__(self, options: CallOptions, progress: Callable[[int], None] | None) -> None:
        self.options = options
        self.progress = progress
        self.semaphore = asyncio.Semaphore(max(1, options.concurrency))
        self.not_before: dict[Endpoint, float] = {}
        self.clients: dict[tuple[Endpoint, int], openai.AsyncOpenAI] = {}
        self.turn = 0
        self.fatal: str | None = None
        self.http_attempts = 0
        self.rng = random.Random()

    def client(self, endpoint: Endpoint) -> openai.AsyncOpenAI:
        """The client for an endpoint. HTTP goes through aiohttp (``openai[aiohttp]``: about 40%
        less CPU per call than httpx's own transport). Without it, calls are spread round-robin
        over httpx clients of at most ``POOL_CONNECTIONS`` connections, because httpcore's pool
        scans every connection for each request it schedules (quadratic in the pool size)."""
        import openai

        try:  # the aiohttp transport of openai[aiohttp]
            from httpx_aiohttp import HttpxAiohttpClient
        except ImportError:  # pragma: no cover - plain httpx works, with more CPU per call
            HttpxAiohttpClient = None
        pools = 1 if HttpxAiohttpClient is not None else max(
            1, math.ceil(self.options.concurrency / POOL_CONNECTIONS))
        self.turn += 1
        key = (endpoint, self.turn % pools)
        if key not in self.clients:
            size = math.ceil(self.options.concurrency / pools) + 2
            http_client = (HttpxAiohttpClient or httpx.AsyncClient)(
                limits=httpx.Limits(max_connections=size, max_keepalive_connections=size),
                timeout=httpx.Timeout(self.options.timeout_s,
                                      connect=min(10.0, self.options.timeout_s)),
            )
            self.clients[key] = openai.AsyncOpenAI(
                base_url=endpoint.base_url, api_key=api_key(endpoint) or "no-key-set",
                max_retries=0, timeout=httpx.Timeout(self.options.timeout_s,
                                                     connect=min(10.0, self.options.timeout_s)),
                http_client=http_client,
            )
        return self.clients[key]

    async def close(self) -> None:
        for client in self.clients.values():
            await client.close()

    def backoff(self, attempt: int, retry_after: float | None) -> float:
        base = min(self.options.backoff_max_s, self.options.backoff_base_s * 2 ** (attempt - 1))
        delay = base / 2 + self.rng.uniform(0, base / 2)
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.options.retry_after_max_s))
        return delay

    async def wait_for_gate(self, endpoint: Endpoint) -> None:
        """Sleep (without holding a slot) until the endpoint's Retry-After gate opens."""
        while (gate := self.not_before.get(endpoint, 0.0) - time.monotonic()) > 0:
            await asyncio.sleep(gate)

    async def one(self, spec: CallSpec) -> CallResult:
        import openai

        result = CallResult(key=spec.key)
        secrets = [api_key(spec.endpoint)]
        error = "not attempted"
        for attempt in range(1, self.options.max_attempts + 1):
            retry_after: float | None = None
            await self.wait_for_gate(spec.endpoint)
            async with self.semaphore:
                if self.fatal:
                    error = f"not attempted: the run was stopped ({self.fatal})"
                    break
                result.attempts = attempt
                self.http_attempts += 1
                started = time.perf_counter()
                try:
                    async with asyncio.timeout(self.options.timeout_s + 1.0):  # no extra task
                        await self.attempt(spec, result)
                    result.latency_ms = (time.perf_counter() - started) * 1000
                    error = ""
                    break
                except _Retryable as exc:
                    error, retry_after = str(exc), exc.retry_after
                except _Final as exc:
                    error = str(exc)
                    break
                except FatalCallError as exc:
                    self.fatal = scrub(str(exc), secrets)
                    error = self.fatal
                    break
                except (TimeoutError, openai.APITimeoutError, httpx.TimeoutException):
                    error = f"timeout after {self.options.timeout_s:g}s"
            if retry_after is not None:
                self.not_before[spec.endpoint] = max(
                    self.not_before.get(spec.endpoint, 0.0),
                    time.monotonic() + min(retry_after, self.options.retry_after_max_s),
                )
            if attempt == self.options.max_attempts:
                error = f"{error} (gave up after {attempt} attempts)"
            else:
                await asyncio.sleep(self.backoff(attempt, retry_after))
        if error:
            result.error = scrub(error, secrets)
            result.output = None
        if self.progress is not None:
            self.progress(1)
        return result

    async def attempt(self, spec: CallSpec, result: CallResult) -> None:
        import openai
        from openai.types.chat import ChatCompletion

        client = self.client(spec.endpoint)
        try:
            if self.options.stream:
                await self._streamed(client, spec, result)
            else:
                response = await client.post(
                    "/chat/completions", cast_to=ChatCompletion, options=_BEARER_ONLY,
                    body={"model": spec.model, "messages": list(spec.messages), **spec.params})
                if not response.choices:
                    raise _Retryable("the response has no choices")
                choice = response.choices[0]
                if choice.message.content is None:  # a refusal or a tool call: asking again
                    raise _Final(          # would give the same answer
                        f"no text in the answer (finish_reason {choice.finish_reason!r}"
                        + (f", refusal: {choice.message.refusal}" if choice.message.refusal
                           else "") + ")")
                result.output = choice.message.content
                result.finish_reason = choice.finish_reason
                result.response_model = response.model
                result.system_fingerprint = response.system_fingerprint
                if response.usage is not None:
                    result.prompt_tokens = response.usage.prompt_tokens
                    result.completion_tokens = response.usage.completion_tokens
        except openai.APIStatusError as exc:
            status = exc.status_code
            text = _error_text(exc)
            if status in FATAL_STATUSES:
                hint = {401: f"check {spec.endpoint.api_key_env}",
                        403: f"the key in {spec.endpoint.api_key_env} may not use this model",
                        404: f"is model {spec.model!r} served there?"}[status]
                raise FatalCallError(
                    f"{spec.endpoint.base_url} refused the call: {text} ({hint})") from None
            if status in RETRY_STATUSES or status >= 500:
                raise _Retryable(text, _retry_after(exc.response.headers)) from None
            raise _Final(text) from None
        except openai.APITimeoutError:
            raise _Retryable(f"timeout after {self.options.timeout_s:g}s") from None
        except (openai.APIConnectionError, httpx.TransportError) as exc:
            cause = exc.__cause__ or exc
            raise _Retryable(f"connection error: {type(cause).__name__}") from None
        except (json.JSONDecodeError, openai.APIResponseValidationError) as exc:
            raise _Retryable(f"malformed response body: {type(exc).__name__}") from None

    async def _streamed(self, client: openai.AsyncOpenAI, spec: CallSpec,
                        result: CallResult) -> None:
        stream = await client.chat.completions.create(
            model=spec.model, messages=list(spec.messages), stream=True,
            stream_options={"include_usage": True}, **spec.params)
        parts: list[str] = []
        finish = None
        async for chunk in stream:
            result.response_model = chunk.model or result.response_model
            result.system_fingerprint = chunk.system_fingerprint or result.system_fingerprint
            if chunk.choices:
                choice = chunk.choices[0]
                parts.append(choice.delta.content or "")
                finish = choice.finish_reason or finish
            if chunk.usage is not None:
                result.prompt_tokens = chunk.usage.prompt_tokens
                result.completion_tokens = chunk.usage.completion_tokens
        if finish is None:
            raise _Retryable("the stream ended before its finish_reason (truncated)")
        result.output = "".join(parts)
        result.finish_reason = finish


@dataclass
class BatchOutcome:
    """The results of a batch, in the order of the specs, the HTTP attempts it made and the
    ids of the processes that made them."""

    results: list[CallResult]
    http_attempts: int
    pids: list[int] = field(default_factory=list)


async def run_calls_async(
    specs: Sequence[CallSpec], options: CallOptions,
    progress: Callable[[int], None] | None = None,
) -> BatchOutcome:
    """Make every call (concurrently, bounded); raise :class:`FatalCallError` on a refused run."""
    caller = _Caller(options, progress)
    try:
        results = await asyncio.gather(*(caller.one(spec) for spec in specs))
    finally:
        await caller.close()
    if caller.fatal:
        raise FatalCallError(caller.fatal)
    return BatchOutcome(list(results), caller.http_attempts, [os.getpid()])


def run_calls(
    specs: Sequence[CallSpec], options: CallOptions,
    progress: Callable[[int], None] | None = None,
) -> BatchOutcome:
    """:func:`run_calls_async` on a fresh event loop (for a worker thread or a Dask worker)."""
    if not specs:
        return BatchOutcome([], 0)
    return asyncio.run(run_calls_async(specs, options, progress))
