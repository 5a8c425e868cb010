"""Headless Chromium over the DevTools protocol: load a page, collect console errors and
exceptions, read the DOM, take a screenshot (Debian's ``chromium`` package; CI installs it).

Usable from tests (:class:`Chromium`) and by hand:
``python -m tests.support.browser reports/2026-11-10/support.html /tmp/support.png``.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.sync.client import ClientConnection, connect

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--remote-debugging-port=0")
_LISTENING = re.compile(r"DevTools listening on (ws://[^\s]+)")


def chromium_binary() -> str | None:
    """The Chromium executable on PATH, if any."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


@dataclass
class PageLoad:
    """What loading one page produced."""

    console: list[dict[str, Any]] = field(default_factory=list)  # every console/log entry
    exceptions: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)  # every URL the page asked for

    @property
    def errors(self) -> list[str]:
        """Console errors, log errors and uncaught exceptions."""
        found = [f"{e['source']}: {e['text']}" for e in self.console if e["level"] == "error"]
        return found + self.exceptions


class Chromium:
    """One headless Chromium with a fresh profile, driven over one page's DevTools socket."""

    def __init__(self, binary: str, width: int = 1280, height: int = 900) -> None:
        self.profile = tempfile.mkdtemp(prefix="flywheel-chromium-")
        self.process = subprocess.Popen(
            [binary, *FLAGS, f"--user-data-dir={self.profile}",
             f"--window-size={width},{height}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        browser_ws = self._wait_for_socket()
        port = browser_ws.split(":")[2].split("/")[0]
        targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list",
                                                   timeout=10))
        page = next(t for t in targets if t["type"] == "page")
        self.ws: ClientConnection = connect(page["webSocketDebuggerUrl"], max_size=None)
        self._next_id = 0
        self.events: list[dict[str, Any]] = []
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable")

    def _wait_for_socket(self, timeout: float = 30.0) -> str:
        assert self.process.stderr is not None
        deadline = time.monotonic() + timeout
        seen = []
        while time.monotonic() < deadline:
            line = self.process.stderr.readline()
            if not line:
                if self.process.poll() is not None:
                    break
                continue
            seen.append(line)
            match = _LISTENING.search(line)
            if match:
                return match.group(1)
        self.close()
        raise RuntimeError("Chromium did not open its DevTools socket:\n" + "".join(seen[-20:]))

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Send one command and wait for its answer (events meanwhile are kept)."""
        self._next_id += 1
        ident = self._next_id
        self.ws.send(json.dumps({"id": ident, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv(timeout=30))
            if message.get("id") == ident:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def _drain(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                self.events.append(json.loads(self.ws.recv(timeout=max(0.01, deadline - time.monotonic()))))
            except TimeoutError:
                return

    def load(self, url: str, settle: float = 1.0) -> PageLoad:
        """Navigate to ``url``, wait for the load event and ``settle`` seconds more."""
        self.events.clear()
        self.call("Page.navigate", url=url)
        deadline = time.monotonic() + 30
        while not any(e.get("method") == "Page.loadEventFired" for e in self.events):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not finish loading")
            self._drain(0.2)
        self._drain(settle)
        result = PageLoad()
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled":
                text = " ".join(str(a.get("value", a.get("description", ""))) for a in params["args"])
                result.console.append({"source": "console", "level": params["type"]
                                       if params["type"] != "warning" else "warning",
                                       "text": text})
            elif method == "Log.entryAdded":
                entry = params["entry"]
                result.console.append({"source": entry["source"], "level": entry["level"],
                                       "text": entry["text"]})
            elif method == "Runtime.exceptionThrown":
                details = params["exceptionDetails"]
                result.exceptions.append(details.get("text", "") + " " + json.dumps(
                    details.get("exception", {}).get("description", "")))
            elif method == "Network.requestWillBeSent":
                result.requests.append(params["request"]["url"])
        return result

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page."""
        answer = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in answer:
            raise RuntimeError(f"evaluate failed: {answer['exceptionDetails']}")
        return answer["result"].get("value")

    def screenshot(self, path: Path, full_page: bool = True) -> Path:
        """A PNG of the page (the whole page by default)."""
        params: dict[str, Any] = {"format": "png", "captureBeyondViewport": full_page}
        if full_page:
            size = self.call("Page.getLayoutMetrics")["cssContentSize"]
            params["clip"] = {"x": 0, "y": 0, "width": size["width"],
                              "height": min(size["height"], 16000), "scale": 1}
        data = self.call("Page.captureScreenshot", **params)["data"]
        path.write_bytes(base64.b64decode(data))
        return path

    def close(self) -> None:
        """Stop the browser (this process only) and remove its profile."""
        try:
            if hasattr(self, "ws"):
                self.ws.close()
        finally:
            if self.process.poll() is None:
                self.process.terminate()
                try:
                    self.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
            shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> Chromium:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def main(argv: list[str]) -> int:
    """Load a report, print its console errors and requests, save a screenshot."""
    page, out = Path(argv[0]).resolve(), Path(argv[1])
    binary = chromium_binary()
    if binary is None:
        print("no chromium on PATH (apt-get install -y chromium)", file=sys.stderr)
        return 2
    with Chromium(binary) as browser:
        loaded = browser.load(page.as_uri())
        browser.screenshot(out)
    print(json.dumps({"errors": loaded.errors, "requests": loaded.requests,
                      "screenshot": str(out)}, indent=2))
    return 1 if loaded.errors else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
