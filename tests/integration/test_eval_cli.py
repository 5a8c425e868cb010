"""``flywheel eval run`` as a user runs it, against the demo model over loopback HTTP."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from flywheel.tasks.demo_model import DemoModelServer
from tests.support.eval_support import API_KEY, make_project, support_cases

pytestmark = pytest.mark.integration


def flywheel(*args: str, cwd: Path, base_url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "OPENAI_BASE_URL": base_url, "OPENAI_API_KEY": API_KEY}
    return subprocess.run(["flywheel", *args], cwd=cwd, capture_output=True, text=True, env=env,
                          timeout=300)


def test_eval_run_json_prints_one_object_and_names_the_demo_model(tmp_path: Path) -> None:
    project, evalset, h = make_project(tmp_path / "p", support_cases(8))
    with DemoModelServer() as server:
        result = flywheel("--db", str(project / "flywheel.duckdb"), "--project-dir", str(project),
                          "eval", "run", "--evalset", str(evalset),
                          "--prompt", f"support:{h['support/v1'][:12]}",
                          "--prompt", f"support:{h['support/v2-friendly'][:12]}",
                          "--concurrency", "4", "--json", cwd=tmp_path, base_url=server.base_url)
        calls = server.calls
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert calls == summary["calls"]["total"] == 16
    assert summary["demo_model"] is True
    assert [v["cases_scored"] for v in summary["versions"]] == [8, 8]
    assert summary["comparisons"][0]["paired_cases"] == 8
    assert API_KEY not in result.stdout + result.stderr


def test_a_bad_eval_set_line_exits_2_naming_file_line_and_key(tmp_path: Path) -> None:
    cases = support_cases(3)
    cases[2]["assert"][0]["threshold"] = 7
    project, evalset, h = make_project(tmp_path / "p", cases)
    result = flywheel("--db", str(project / "flywheel.duckdb"), "--project-dir", str(project),
                      "eval", "run", "--evalset", str(evalset), "--prompt", "support:" + h[
                          "support/v1"][:12], cwd=tmp_path, base_url="http://127.0.0.1:9/v1")
    assert result.returncode == 2
    assert f"{evalset}:3: key 'assert[0].threshold'" in result.stderr
    assert "Traceback" not in result.stderr
    evalset.write_text(evalset.read_text().replace('"threshold": 7', '"threshold": 0.7'))
    unknown = flywheel("--db", str(project / "flywheel.duckdb"), "eval", "run", "--evalset",
                       str(evalset), "--prompt", "support@nope", cwd=tmp_path,
                       base_url="http://127.0.0.1:9/v1")
    assert unknown.returncode == 2
    assert "support@nope" in unknown.stderr and "Traceback" not in unknown.stderr


# issue 23: a base URL holding credentials, or not a URL at all, was a traceback (and a
# user:password@ one reached the HTTP client); now one line, exit 2, the secret never printed
SECRET = "s3cr3t-Tok3n"
BAD_BASE_URLS = {
    "credentials": (f"http://user:{SECRET}@127.0.0.1:9/v1", "OPENAI_BASE_URL holds credentials"),
    "password with a slash": (f"http://user:{SECRET}/x@127.0.0.1:9/v1",
                              "OPENAI_BASE_URL holds credentials"),
    "token only": (f"https://{SECRET}@api.example.com/v1", "OPENAI_BASE_URL holds credentials"),
    "unclosed IPv6": ("http://[::1/v1", "OPENAI_BASE_URL is not a valid endpoint URL"),
    "port out of range": ("http://127.0.0.1:99999/v1",
                          "OPENAI_BASE_URL is not a valid endpoint URL"),
    "no scheme": ("not a url", "OPENAI_BASE_URL is not a valid endpoint URL"),
}


@pytest.mark.parametrize("kind", sorted(BAD_BASE_URLS))
def test_a_bad_base_url_is_one_line_exit_2_and_never_prints_the_secret(
    tmp_path: Path, kind: str
) -> None:
    url, message = BAD_BASE_URLS[kind]
    project, evalset, h = make_project(tmp_path / "p", support_cases(2))
    result = flywheel("--db", str(project / "flywheel.duckdb"), "--project-dir", str(project),
                      "eval", "run", "--evalset", str(evalset), "--prompt",
                      "support:" + h["support/v1"][:12], cwd=tmp_path, base_url=url)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]  # one line
    assert result.stderr.startswith(f"error: {message}")
    assert "Traceback" not in result.stderr
    assert SECRET not in result.stdout + result.stderr
    if "credentials" in message:
        assert "***@" in result.stderr and "OPENAI_API_KEY" in result.stderr


def test_flywheel_demo_refuses_a_base_url_with_credentials_before_starting(tmp_path: Path) -> None:
    url, message = BAD_BASE_URLS["credentials"]
    result = flywheel("demo", "--days", "1", "--users", "10", "--workdir", str(tmp_path / "w"),
                      cwd=tmp_path, base_url=url)
    assert result.returncode == 2 and result.stderr.startswith(f"error: {message}")
    assert SECRET not in result.stdout + result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "w").exists()  # nothing was started or written
