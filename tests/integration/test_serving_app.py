"""An application that uses only the client and the snapshot (examples/serve_prompt.py, run as a
process) calls a loopback OpenAI-compatible server, serves the production prompt, takes part in
an experiment, and leaves logs that ingest (`flywheel.tasks.ingest.ingest_paths`, what `flywheel ingest`
runs) loads with zero rejects."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from flywheel.tasks.db import connect
from flywheel.tasks.ingest import ingest_paths
from flywheel.tasks.serving._client import Router
from flywheel.tasks.serving._snapshot import write_snapshot
from flywheel.tasks.serving.assignment import assign_variant
from tests.conftest import REPO
from tests.support.serving_support import SUPPORT_V1, SUPPORT_V2, project

pytestmark = pytest.mark.integration


class _ChatHandler(BaseHTTPRequestHandler):
    """POST /v1/chat/completions: a fixed answer in the OpenAI response shape; records bodies."""

    received: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.path != "/v1/chat/completions":
            self.send_error(404)
            return
        type(self).received.append(body)
        answer = {"id": "chatcmpl-1", "object": "chat.completion", "created": 0,
                  "model": body["model"],
                  "choices": [{"index": 0, "finish_reason": "stop",
                               "message": {"role": "assistant", "content": "Refunds take 5 days."}}],
                  "usage": {"prompt_tokens": 42, "completion_tokens": 6, "total_tokens": 48}}
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def model_server() -> Iterator[str]:
    """A loopback chat server that records every request body (the demo model keeps no bodies,
    and this test checks what the application sent)."""
    _ChatHandler.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ChatHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def serve(env: dict[str, str], subject: str, user: str, question: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, str(REPO / "examples" / "serve_prompt.py"), subject, user,
         f"question={question}"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_an_application_with_only_the_client_closes_the_loop(tmp_path: Path,
                                                             model_server: str) -> None:
    settings = project(tmp_path, {"tone-test": (REPO / "experiments/tone-test.yaml").read_text()})
    write_snapshot(settings, reason="test")
    env = {**os.environ, "PYTHONPATH": str(REPO), "OPENAI_BASE_URL": model_server,
           "OPENAI_API_KEY": "test-key", "FLYWHEEL_SERVING_PATH": str(settings.serving_file),
           "FLYWHEEL_LANDING_DIR": str(tmp_path / "landing")}
    # one user per arm of tone-test, by the contract's assignment
    users = [f"user-{i}" for i in range(20)]
    arms = {assign_variant("tone-test", u, ["control", "friendly"]): u for u in users}
    runs = [serve(env, "support", "user-100", "How do I get a refund?")]
    runs += [serve(env, "tone-test", arms[arm], "Can I change my region?")
             for arm in ("control", "friendly")]

    assert (runs[0]["variant"], runs[0]["hash"], runs[0]["experiment"]) == (
        "production", SUPPORT_V1, None)
    assert [(r["variant"], r["hash"], r["experiment"]) for r in runs[1:]] == [
        ("control", SUPPORT_V1, "tone-test"), ("friendly", SUPPORT_V2, "tone-test")]
    router = Router.load(settings.serving_file)
    assert len(_ChatHandler.received) == 3  # the server saw exactly the rendered messages
    sent = _ChatHandler.received[2]
    assert sent["messages"] == router.render(SUPPORT_V2, {"question": "Can I change my region?"})
    assert sent["max_tokens"] == 300 and sent["model"] == "gpt-4o-mini"

    # what `flywheel ingest` runs (its flow calls ingest_paths), without a Prefect server
    summary = ingest_paths(settings, [tmp_path / "landing"]).to_dict()
    assert summary["rejected"] == 0 and summary["files_failed"] == 0
    assert (summary["requests_inserted"], summary["feedback_inserted"]) == (3, 3)
    with connect(settings.db_path) as con:
        rows = con.execute(
            "SELECT r.request_id, r.experiment, r.variant, v.version_hash, v.link_status "
            "FROM requests r JOIN request_prompt_versions v USING (request_id) "
            "ORDER BY r.request_id").fetchall()
        thumbs = con.execute("SELECT count(*) FROM feedback WHERE kind = 'thumbs'").fetchone()[0]
    logged = {r[0]: r[1:] for r in rows}
    for run in runs:
        assert logged[run["request_id"]] == (run["experiment"],
                                             run["variant"] if run["experiment"] else None,
                                             run["hash"], "resolved")
    assert thumbs == 3
