"""The eval caller over real HTTP against the demo model: retries, Retry-After, fail-fast on
credentials, no retry on other 4xx, secrets kept out of errors, real recorded responses."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from flywheel.tasks.demo_model import DemoModelServer, FaultPlan
from flywheel.tasks.demo_model._rules import DEMO_FINGERPRINT, DEMO_MODEL
from flywheel.tasks.evals._client import (
    CallOptions,
    CallSpec,
    Endpoint,
    FatalCallError,
    run_calls,
)
from tests.conftest import shared_data
from tests.support.eval_support import API_KEY

pytestmark = pytest.mark.integration
FAST = CallOptions(concurrency=4, timeout_s=0.4, max_attempts=5, backoff_base_s=0.01,
                   backoff_max_s=0.02)
QUESTION = "Customer question: Why was my card declined?\nAnswer in at most four sentences."


def spec(server: DemoModelServer, key: str = "k", content: str = QUESTION,
         model: str = "gpt-4o-mini", **params: Any) -> CallSpec:
    return CallSpec(key, Endpoint(server.base_url), model,
                    ({"role": "user", "content": content},), params)


@pytest.fixture
def demo_server() -> Iterator[DemoModelServer]:
    with DemoModelServer() as server:
        yield server


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)


def test_429_500_timeout_and_malformed_are_retried_until_an_answer(
    demo_server: DemoModelServer,
) -> None:
    demo_server.configure(FaultPlan(hang_s=1.0, script=[
        {"fault": "429"}, {"fault": "500"}, {"fault": "timeout"}, {"fault": "malformed"}]))
    [result] = run_calls([spec(demo_server)], FAST).results
    assert result.ok, result.error
    assert result.attempts == 5
    assert result.output.startswith("Your bank declined the payment")
    assert (result.response_model, result.system_fingerprint) == (DEMO_MODEL, DEMO_FINGERPRINT)
    assert result.prompt_tokens > 0 and result.completion_tokens > 0
    assert demo_server.stats()["faults"] == {"429": 1, "500": 1, "timeout": 1, "malformed": 1}


def test_retry_after_is_honoured(demo_server: DemoModelServer) -> None:
    demo_server.configure(FaultPlan(retry_after_s=0.4, script=[{"fault": "429"}]))
    [result] = run_calls([spec(demo_server)], FAST).results
    assert result.ok and result.attempts == 2
    (first, _), (second, _) = demo_server.call_log()
    assert second - first >= 0.4  # the back-off alone would be ~0.01 s


def test_a_truncated_stream_is_detected_and_retried(demo_server: DemoModelServer) -> None:
    expected = run_calls([spec(demo_server)], FAST).results[0].output
    demo_server.configure(FaultPlan(script=[{"fault": "truncated"}]))
    streaming = CallOptions(**{**FAST.__dict__, "stream": True})
    [result] = run_calls([spec(demo_server)], streaming).results
    assert result.ok and result.attempts == 2
    assert result.output == expected
    assert result.completion_tokens and result.finish_reason == "stop"


def test_other_4xx_is_an_error_for_that_call_without_retry(demo_server: DemoModelServer) -> None:
    demo_server.configure(FaultPlan(script=[{"status": 400, "when": "declined"}]))
    other = spec(demo_server, "other", "Customer question: Do you offer backups?")
    bad, good = run_calls([spec(demo_server), other], FAST).results
    assert bad.error and bad.error.startswith("HTTP 400") and bad.attempts == 1
    assert bad.output is None
    assert good.ok
    assert demo_server.calls == 2


def test_exhausted_retries_are_an_error_never_an_output(demo_server: DemoModelServer) -> None:
    demo_server.configure(FaultPlan(status=503))
    [result] = run_calls([spec(demo_server)], CallOptions(**{**FAST.__dict__,
                                                              "max_attempts": 3})).results
    assert result.output is None
    assert result.error == "HTTP 503: demo status 503 (gave up after 3 attempts)"
    assert demo_server.calls == 3


def test_a_permanent_401_fails_fast_and_never_shows_the_key(
    demo_server: DemoModelServer,
) -> None:
    demo_server.configure(FaultPlan(status=401, latency_ms=20))
    specs = [spec(demo_server, f"k{i}", f"{QUESTION} {i}") for i in range(200)]
    with pytest.raises(FatalCallError) as err:
        run_calls(specs, FAST)
    message = str(err.value)
    assert "HTTP 401" in message and "check OPENAI_API_KEY" in message
    assert API_KEY not in message and "SECRET" not in message
    assert demo_server.calls <= FAST.concurrency  # no retry storm: the in-flight calls only


def _recorded_content(row: dict[str, Any]) -> str | None:
    body = row["response_body"]
    if isinstance(body, dict):
        choices = body.get("choices") or []
        return choices[0].get("message", {}).get("content") if choices else None
    parts = []
    for line in body.splitlines():
        if line.startswith("data: ") and line != "data: [DONE]":
            for choice in json.loads(line[6:]).get("choices") or []:
                parts.append((choice.get("delta") or {}).get("content") or "")
    return "".join(parts)


def test_real_recorded_openai_responses_parse_through_the_client_path() -> None:
    path = shared_data(
        "telemetry/openllmetry_openai_cassettes/openllmetry_llm_http_interactions.jsonl")
    with DemoModelServer(replay=path) as server:
        rows = server.cassettes.entries
        ok_plain = [r for r in rows if r["status"]["code"] == 200 and isinstance(
            r["response_body"], dict) and _recorded_content(r)]
        ok_stream = [r for r in rows if r["status"]["code"] == 200 and isinstance(
            r["response_body"], str) and r["request_body"].get("stream")
            and _recorded_content(r) and "finish_reason\":\"stop" in r["response_body"]]
        errors = [r for r in rows if r["status"]["code"] == 400]
        assert len(ok_plain) >= 15 and len(ok_stream) >= 3 and errors

        def specs_of(selected: list[dict[str, Any]]) -> list[CallSpec]:
            return [CallSpec(f"k{i}", Endpoint(server.base_url), r["request_body"]["model"],
                             tuple(r["request_body"]["messages"]), {})
                    for i, r in enumerate(selected)]

        results = run_calls(specs_of(ok_plain), FAST).results
        for row, result in zip(ok_plain, results, strict=True):
            body = row["response_body"]
            assert result.ok, result.error
            assert result.output == _recorded_content(row)
            assert result.prompt_tokens == body["usage"]["prompt_tokens"]
            assert result.completion_tokens == body["usage"]["completion_tokens"]
            assert result.system_fingerprint == body.get("system_fingerprint")
            assert result.response_model == body["model"]
        assert any(r.system_fingerprint for r in results)

        streaming = CallOptions(**{**FAST.__dict__, "stream": True})
        for row, result in zip(ok_stream, run_calls(specs_of(ok_stream), streaming).results,
                               strict=True):
            assert result.ok, result.error
            assert result.output == _recorded_content(row)

        before = server.calls
        for row, result in zip(errors, run_calls(specs_of(errors), FAST).results, strict=True):
            assert result.error == f"HTTP 400: {row['response_body']['error']['message']}"
            assert result.attempts == 1
        assert server.calls - before == len(errors)


def test_an_answer_without_text_is_an_error_without_retry() -> None:
    path = shared_data(
        "telemetry/openllmetry_openai_cassettes/openllmetry_llm_http_interactions.jsonl")
    with DemoModelServer(replay=path) as server:
        tool_calls = [r for r in server.cassettes.entries if isinstance(r["response_body"], dict)
                      and r["status"]["code"] == 200 and r["response_body"].get("choices")
                      and r["response_body"]["choices"][0]["message"].get("content") is None]
        assert tool_calls
        row = tool_calls[0]
        [result] = run_calls([CallSpec("k", Endpoint(server.base_url),
                                       row["request_body"]["model"],
                                       tuple(row["request_body"]["messages"]), {})], FAST).results
        assert result.error == "no text in the answer (finish_reason 'tool_calls')"
        assert result.attempts == 1 and server.calls == 1
